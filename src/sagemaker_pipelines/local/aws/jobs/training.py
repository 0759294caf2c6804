"""Training jobs: download channels, run a built-in algorithm or a script, upload model.tar.gz.

The moto ``FakeTrainingJob`` object is the job's state: this module moves it through
``InProgress`` (SecondaryStatus Starting -> Downloading -> Training -> Uploading) to ``Completed`` or
``Failed`` with a FailureReason, exactly the fields DescribeTrainingJob returns.
"""

from __future__ import annotations

import copy
import functools
import time
from pathlib import Path
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceInUseException
from moto.sagemaker.models import FakeTrainingJob

from sagemaker_pipelines.compile.images import identify_image
from sagemaker_pipelines.local.aws import algorithms, frameworks, registry, script_mode
from sagemaker_pipelines.local.aws.backend import (
    SETTINGS,
    Run,
    describe_error,
    launch,
    log,
    slot,
    store_for,
    utcnow,
    wait_min_duration,
)
from sagemaker_pipelines.local.aws.jobs import studio_notebooks
from sagemaker_pipelines.local.aws.sandbox import JobDir, JobError, JobStopped, check_stop
from sagemaker_pipelines.local.aws.storage import S3Store, join_s3, tar_directory

_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "MaxRuntimeExceeded": "Job stopped because it exceeded MaxRuntimeInSeconds",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
}


def prepare(job: Any, environment: dict[str, str] | None, tuning_job_arn: str | None) -> None:
    """Turn moto's instantly-Completed object into a job that is starting (called inside the create call,
    before any other thread can see the object)."""
    now = utcnow()
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": now, "StatusMessage": _MESSAGES["Starting"]}
    ]
    job.final_metric_data_list = None
    job.model_artifacts = None
    job.training_start_time = None
    job.training_end_time = None
    job.failure_reason = None
    job.training_time_in_seconds = None
    job.billable_time_in_seconds = None
    job.environment = environment or None
    job.tuning_job_arn = tuning_job_arn


def _secondary(job: Any, status: str) -> None:
    now = utcnow()
    transitions = [dict(t) for t in job.secondary_status_transitions]
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    transitions.append({"Status": status, "StartTime": now, "StatusMessage": _MESSAGES.get(status, status)})
    if status in ("Completed", "Failed", "MaxRuntimeExceeded", "Stopped"):
        transitions[-1]["EndTime"] = now
    job.secondary_status_transitions = transitions
    job.secondary_status = status
    job.last_modified_time = now


def resolve_mode(job: Any) -> tuple[str, str]:
    """("builtin", algorithm) or ("script", framework) for the job's TrainingImage; JobError otherwise."""
    spec = job.algorithm_specification or {}
    image = spec.get("TrainingImage")
    if not image:
        name = spec.get("AlgorithmName", "")
        raise JobError(f"ClientError: AlgorithmName '{name}' is not supported locally; give a TrainingImage")
    if studio_notebooks.is_notebook_execution(spec):  # the Unified Studio SDK's notebook execution
        return "notebook", image
    if spec.get("ContainerEntrypoint"):
        raise JobError("ClientError: AlgorithmSpecification.ContainerEntrypoint is not supported locally")
    info = identify_image(image)
    scripted = script_mode.is_script_mode(job.hyper_parameters or {})
    if info.kind == "algorithm" and info.name in algorithms.SUPPORTED:
        return "builtin", info.name
    if info.kind == "framework" and info.name == "xgboost" and not scripted:
        return "builtin", "xgboost"
    if info.kind == "framework":
        if not scripted:
            raise JobError(
                f"ClientError: the {info.name} framework image needs the sagemaker_program and "
                "sagemaker_submit_directory hyperparameters (script mode)"
            )
        return "script", info.name
    raise JobError(
        f"ClientError: unsupported algorithm image '{image}' (local runs support the knn, "
        "linear-learner and xgboost algorithms and the sklearn/xgboost/pytorch script-mode "
        "images)"
    )


def _download_channels(job: Any, jd: JobDir, store: S3Store) -> tuple[dict[str, Path], dict[str, Any]]:
    channels: dict[str, Path] = {}
    input_config: dict[str, Any] = {}
    for channel in job.input_data_config or []:
        name = channel["ChannelName"]
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if not source:
            raise JobError(f"ClientError: channel '{name}': only S3DataSource is supported locally")
        if source.get("S3DataType", "S3Prefix") not in ("S3Prefix",):
            raise JobError(
                f"ClientError: channel '{name}': S3DataType {source['S3DataType']} is not supported"
            )
        dest = jd.opt_ml / "input" / "data" / name
        files = store.download(source["S3Uri"], dest)
        jd.phase(f"channel '{name}': {len(files)} file(s) from {source['S3Uri']}")
        channels[name] = dest
        input_config[name] = {
            "ContentType": channel.get("ContentType", ""),
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
    return channels, input_config


def run(backend: Any, job: Any, run_info: Run) -> None:
    """The background work of one training job."""
    name = job.training_job_name
    jd = JobDir.create(SETTINGS.state_dir, "training", name)
    store = store_for(backend)
    started = time.monotonic()
    max_runtime = (job.stopping_condition or {}).get("MaxRuntimeInSeconds")
    try:
        mode, what = resolve_mode(job)
        jd.phase(f"starting ({mode} {what})")
        if mode == "script":  # the script runs with this machine's libraries, not the image's
            lines, refusal = frameworks.check((job.algorithm_specification or {}).get("TrainingImage"))
            for line in lines:
                jd.phase(line)
            if refusal:
                raise JobError(f"ClientError: {refusal}")
        with slot():
            check_stop()
            _secondary(job, "Downloading")
            channels, input_config = _download_channels(job, jd, store)
            check_stop()
            _secondary(job, "Training")
            job.training_start_time = utcnow()
            model_dir = jd.opt_ml / "model"
            model_dir.mkdir(parents=True, exist_ok=True)
            if mode == "builtin":
                content_types = {c["ChannelName"]: c.get("ContentType") for c in job.input_data_config or []}
                metrics = algorithms.train(
                    what, job.hyper_parameters or {}, channels, content_types, model_dir, jd.phase
                ).metrics
                if max_runtime and time.monotonic() - started > max_runtime:
                    raise JobError(
                        f"MaxRuntimeExceeded: the training job ran longer than {max_runtime} seconds"
                    )
            elif mode == "notebook":
                hps, env = job.hyper_parameters or {}, job.environment or {}
                studio_notebooks.run_notebook(jd, channels, hps, env, model_dir, max_runtime)
                metrics = {}
            else:
                output = script_mode.run_training_script(
                    jd,
                    store,
                    job.hyper_parameters or {},
                    channels,
                    input_config,
                    job.environment or {},
                    max_runtime,
                )
                definitions = (job.algorithm_specification or {}).get("MetricDefinitions") or []
                metrics = script_mode.parse_metrics(output, definitions)
            check_stop()
            _secondary(job, "Uploading")
            out_base = join_s3(job.output_data_config["S3OutputPath"], name, "output")
            artifact = join_s3(out_base, "model.tar.gz")
            store.put(artifact, tar_directory(model_dir))
            jd.phase(f"uploaded {artifact}")
            output_data = jd.opt_ml / "output" / "data"
            if output_data.is_dir() and any(output_data.iterdir()):
                store.put(join_s3(out_base, "output.tar.gz"), tar_directory(output_data))
        now = utcnow()
        job.final_metric_data_list = [
            {"MetricName": k, "Value": float(v), "Timestamp": now} for k, v in sorted(metrics.items())
        ] or None
        wait_min_duration(run_info)
        check_stop()
        _finish(job, jd, started, artifact=artifact)
    except JobStopped:
        wait_min_duration(run_info)
        _finish(job, jd, started, stopped=True)
    except Exception as exc:
        if not isinstance(exc, JobError):
            log.exception("training %s: unexpected error", name)
        wait_min_duration(run_info)
        _finish(job, jd, started, failure=describe_error(exc))


def _finish(
    job: Any,
    jd: JobDir,
    started: float,
    artifact: str | None = None,
    failure: str | None = None,
    stopped: bool = False,
) -> None:
    now = utcnow()
    seconds = max(1, int(time.monotonic() - started))
    job.training_time_in_seconds = seconds
    job.billable_time_in_seconds = seconds
    job.training_end_time = now
    if job.training_start_time is None:
        job.training_start_time = now
    if stopped:
        _secondary(job, "Stopped")
        job.training_job_status = "Stopped"
        jd.phase("Stopped")
    elif failure is None:
        job.model_artifacts = {"S3ModelArtifacts": artifact}
        _secondary(job, "Completed")
        job.training_job_status = "Completed"
        jd.phase("Completed")
    else:
        job.failure_reason = failure
        _secondary(job, "MaxRuntimeExceeded" if failure.startswith("MaxRuntimeExceeded") else "Failed")
        job.training_job_status = "Failed"
        jd.phase(f"Failed: {failure}")


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_training_job")
def _create_training_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_training_job(
        self: Any,
        training_job_name: str,
        *args: Any,
        environment: dict[str, str] | None = None,
        tuning_job_arn: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if training_job_name in self.training_jobs:
            arn = FakeTrainingJob.arn_formatter(training_job_name, self.account_id, self.region_name)
            raise ResourceInUseException(
                "Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({arn})"
            )
        spec = copy.deepcopy(kwargs.get("algorithm_specification") or {})
        job = orig(self, training_job_name, *args, **kwargs)
        job.algorithm_specification = spec  # moto replaces MetricDefinitions with a canned one
        prepare(job, environment, tuning_job_arn)
        launch("training", self, training_job_name, lambda started: run(self, job, started))
        return job

    return create_training_job


@registry.replaces("create_training_job", registry.RESPONSE)
def _response_create_training_job(self: Any) -> ActionResult:
    """moto's handler, plus the Environment parameter it drops."""
    p = self._get_param
    job = self.sagemaker_backend.create_training_job(
        training_job_name=p("TrainingJobName"),
        hyper_parameters=p("HyperParameters"),
        algorithm_specification=p("AlgorithmSpecification"),
        role_arn=p("RoleArn"),
        input_data_config=p("InputDataConfig"),
        output_data_config=p("OutputDataConfig"),
        resource_config=p("ResourceConfig"),
        vpc_config=p("VpcConfig"),
        stopping_condition=p("StoppingCondition"),
        tags=p("Tags"),
        enable_network_isolation=p("EnableNetworkIsolation", False),
        enable_inter_container_traffic_encryption=p("EnableInterContainerTrafficEncryption", False),
        enable_managed_spot_training=p("EnableManagedSpotTraining", False),
        checkpoint_config=p("CheckpointConfig"),
        debug_hook_config=p("DebugHookConfig"),
        debug_rule_configurations=p("DebugRuleConfigurations"),
        tensor_board_output_config=p("TensorBoardOutputConfig"),
        experiment_config=p("ExperimentConfig"),
        environment=p("Environment"),
    )
    return ActionResult({"TrainingJobArn": job.arn})


registry.observes(
    "describe_training_job", "training", "TrainingJobStatus", ("InProgress", "Stopping"), __name__
)
