"""Processing jobs: run AppSpecification.ContainerEntrypoint + ContainerArguments on the host.

The image is not run (there are no containers locally); the entrypoint command is, with ``python``/
``python3`` meaning the server's Python. Container paths are remapped into the job's sandbox
``<state-dir>/jobs/processing-<name>/``: an absolute container path ``/x/y`` lives at ``<sandbox>/x/y``.
ProcessingInputs are downloaded to their remapped LocalPath, every argument mentioning /opt/ml or an
input/output LocalPath is rewritten to the remapped path, and the process gets LOCAL_AWS_OPT_ML_ROOT plus
the path shim (see ``_shim/sitecustomize.py``) so literal /opt/ml paths in Python code resolve too. The
outputs' remapped LocalPaths are uploaded to S3Output.S3Uri when the process exits with 0.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeProcessingJob

from sagemaker_pipelines.local.aws import frameworks, registry
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
from sagemaker_pipelines.local.aws.sandbox import (
    JobDir,
    JobError,
    JobStopped,
    check_stop,
    child_env,
    python_command,
    run_child,
    tail,
)


def prepare(job: Any, environment: dict[str, str] | None) -> None:
    job.processing_job_status = "InProgress"
    job.processing_start_time = None
    job.processing_end_time = None
    job.failure_reason = None
    job.exit_message = None
    job.environment = environment or None


def rewrite_argument(arg: str, prefixes: list[str], jd: JobDir) -> str:
    """Replace container paths (longest prefix first) inside one argument with their sandbox paths."""
    for prefix in sorted(set(prefixes), key=len, reverse=True):
        pattern = re.compile(r"(?<![\w./-])" + re.escape(prefix.rstrip("/")) + r"(?=/|$|[\s,;:=\"'])")
        arg = pattern.sub(lambda _m, p=prefix: str(jd.remap(p.rstrip("/"))), arg)
    return arg


def run(backend: Any, job: Any, run_info: Run) -> None:
    """The background work of one processing job."""
    name = job.processing_job_name
    jd = JobDir.create(SETTINGS.state_dir, "processing", name)
    store = store_for(backend)
    try:
        app = job.app_specification or {}
        entry = list(app.get("ContainerEntrypoint") or [])
        if not entry:
            raise JobError(
                "ClientError: AppSpecification.ContainerEntrypoint is required locally (images are not run, "
                "only their entrypoint command)"
            )
        lines, refusal = frameworks.check(app.get("ImageUri"))
        for line in lines:  # what the image stands for, and what really runs the script
            jd.phase(line)
        if refusal:
            raise JobError(f"ClientError: {refusal}")
        with slot():
            check_stop()
            job.processing_start_time = utcnow()
            prefixes = ["/opt/ml"]
            for item in job.processing_inputs or []:
                s3_input = item.get("S3Input")
                if not s3_input:
                    raise JobError(f"ClientError: input '{item.get('InputName')}': only S3Input is supported")
                if s3_input.get("S3DataType", "S3Prefix") != "S3Prefix":
                    raise JobError(
                        f"ClientError: input '{item.get('InputName')}': only S3Prefix is supported"
                    )
                local = s3_input["LocalPath"]
                prefixes.append(local)
                files = store.download(s3_input["S3Uri"], jd.remap(local))
                jd.phase(f"input '{item.get('InputName')}': {len(files)} file(s) -> {local}")
            outputs = (job.processing_output_config or {}).get("Outputs") or []
            for item in outputs:
                s3_output = item.get("S3Output")
                if not s3_output:
                    raise JobError(
                        f"ClientError: output '{item.get('OutputName')}': only S3Output is supported"
                    )
                prefixes.append(s3_output["LocalPath"])
                jd.remap(s3_output["LocalPath"]).mkdir(parents=True, exist_ok=True)
            config = jd.opt_ml / "config"
            config.mkdir(parents=True, exist_ok=True)
            (config / "processingjobconfig.json").write_text(
                json.dumps(
                    {
                        "ProcessingJobName": name,
                        "AppSpecification": app,
                        "ProcessingInputs": job.processing_inputs,
                        "ProcessingOutputConfig": job.processing_output_config,
                        "Environment": job.environment,
                    },
                    default=str,
                )
            )
            (config / "resourceconfig.json").write_text(
                json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
            )
            argv = python_command(
                [rewrite_argument(a, prefixes, jd) for a in entry + list(app.get("ContainerArguments") or [])]
            )
            timeout = (job.stopping_condition or {}).get("MaxRuntimeInSeconds")
            result = run_child(jd, argv, jd.root, child_env(jd, job.environment or {}), timeout)
            if result.timed_out:
                raise JobError(f"MaxRuntimeExceeded: the processing job ran longer than {timeout} seconds")
            if result.returncode != 0:
                failure = next(
                    (
                        p
                        for p in (jd.opt_ml / "output" / "message", jd.opt_ml / "output" / "failure")
                        if p.is_file() and p.read_text().strip()
                    ),
                    None,
                )
                detail = failure.read_text().strip()[-900:] if failure else tail(result.output)
                raise JobError(f"AlgorithmError: ExitCode {result.returncode}\n{detail}")
            for item in outputs:
                s3_output = item["S3Output"]
                count = store.upload_dir(jd.remap(s3_output["LocalPath"]), s3_output["S3Uri"])
                jd.phase(f"output '{item.get('OutputName')}': {count} file(s) -> {s3_output['S3Uri']}")
        wait_min_duration(run_info)
        check_stop()
        job.exit_message = "Exit code 0"
        _finish(job, jd, "Completed")
    except JobStopped:
        wait_min_duration(run_info)
        _finish(job, jd, "Stopped")
    except Exception as exc:
        if not isinstance(exc, JobError):
            log.exception("processing %s: unexpected error", name)
        wait_min_duration(run_info)
        job.failure_reason = describe_error(exc)
        _finish(job, jd, "Failed")


def _finish(job: Any, jd: JobDir, status: str) -> None:
    now = utcnow()
    job.processing_end_time = now
    job.last_modified_time = now
    if job.processing_start_time is None:
        job.processing_start_time = now
    job.processing_job_status = status
    jd.phase(status + (f": {job.failure_reason}" if job.failure_reason else ""))


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_processing_job")
def _create_processing_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_processing_job(
        self: Any, *args: Any, environment: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        name = kwargs.get("processing_job_name")
        if name in self.processing_jobs:
            arn = FakeProcessingJob.arn_formatter(name, self.account_id, self.region_name)
            raise ValidationError(
                "Job name must be unique within an AWS account and region, and a job with this name already "
                f"exists ({arn})"
            )
        job = orig(self, *args, **kwargs)
        prepare(job, environment)
        launch("processing", self, job.processing_job_name, lambda started: run(self, job, started))
        return job

    return create_processing_job


@registry.replaces("create_processing_job", registry.RESPONSE)
def _response_create_processing_job(self: Any) -> ActionResult:
    """moto's handler, plus the Environment parameter it drops."""
    p = self._get_param
    job = self.sagemaker_backend.create_processing_job(
        app_specification=p("AppSpecification"),
        experiment_config=p("ExperimentConfig"),
        network_config=p("NetworkConfig"),
        processing_inputs=p("ProcessingInputs"),
        processing_job_name=p("ProcessingJobName"),
        processing_output_config=p("ProcessingOutputConfig"),
        role_arn=p("RoleArn"),
        stopping_condition=p("StoppingCondition"),
        tags=p("Tags"),
        environment=p("Environment"),
    )
    return ActionResult({"ProcessingJobArn": job.arn})


registry.observes(
    "describe_processing_job", "processing", "ProcessingJobStatus", ("InProgress", "Stopping"), __name__
)
