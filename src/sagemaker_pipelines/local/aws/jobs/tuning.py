"""Hyperparameter tuning jobs: N real training jobs over the ParameterRanges, best one reported.

Sampling: Strategy Grid enumerates the categorical grid (as AWS, which allows only categorical ranges
there); every other strategy (Bayesian, Random, Hyperband) samples at random with a fixed seed
(HyperParameterTuningJobConfig.RandomSeed, else 0), Logarithmic scaling sampling log-uniformly.
MaxNumberOfTrainingJobs is capped at LOCAL_AWS_MAX_TUNING_JOBS (default 10); MaxParallelTrainingJobs is
honoured up to the server's concurrency. The objective metric is read from each job's FinalMetricDataList
(computed on validation/test/train channels for built-in algorithms, parsed with MetricDefinitions for
scripts); a metric missing under its exact name falls back to the same metric on another channel.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import random
import time
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import Run, launch, log, run_of, utcnow, wait_min_duration
from sagemaker_pipelines.local.aws.jobs.experiments import job_experiment
from sagemaker_pipelines.local.aws.jobs.stopping import stop_job
from sagemaker_pipelines.local.aws.sandbox import stop_requested

MAX_TUNING_JOBS = int(os.environ.get("LOCAL_AWS_MAX_TUNING_JOBS", "10"))


def prepare(tuning: Any) -> None:
    tuning.tags = list(tuning.tags or [])  # moto keeps None, and AddTags/ListTags then fail with a 500
    tuning.hyper_parameter_tuning_job_status = "InProgress"
    tuning.hyper_parameter_tuning_end_time = None
    tuning.best_training_job = None
    tuning.OverallBestTrainingJob = None
    tuning.failure_reason = None
    tuning.tuning_job_completion_details = None
    tuning.consumed_resources = {"RuntimeInSeconds": 0}
    tuning.training_job_status_counters = _counters([])
    tuning.objective_status_counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    tuning.training_jobs = []  # names, in creation order (not part of moto's describe())


def _fmt_float(value: float) -> str:
    return f"{value:.6g}"


def sample_configurations(config: dict[str, Any], count: int) -> list[dict[str, str]]:
    """``count`` hyperparameter assignments (values as strings, like the API)."""
    ranges = config.get("ParameterRanges") or {}
    integers = ranges.get("IntegerParameterRanges") or []
    continuous = ranges.get("ContinuousParameterRanges") or []
    categorical = ranges.get("CategoricalParameterRanges") or []
    if config.get("Strategy") == "Grid":
        names = [r["Name"] for r in categorical]
        grid = itertools.product(*[r["Values"] for r in categorical])
        return [dict(zip(names, values, strict=True)) for values in itertools.islice(grid, count)]
    rng = random.Random(int(config.get("RandomSeed", 0)))
    configs = []
    for _ in range(count):
        values: dict[str, str] = {}
        for r in integers:
            lo, hi = int(r["MinValue"]), int(r["MaxValue"])
            if r.get("ScalingType") == "Logarithmic" and lo > 0:
                values[r["Name"]] = str(min(hi, round(math.exp(rng.uniform(math.log(lo), math.log(hi))))))
            else:
                values[r["Name"]] = str(rng.randint(lo, hi))
        for r in continuous:
            lo, hi = float(r["MinValue"]), float(r["MaxValue"])
            if r.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic") and lo > 0:
                values[r["Name"]] = _fmt_float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            else:
                values[r["Name"]] = _fmt_float(rng.uniform(lo, hi))
        for r in categorical:
            values[r["Name"]] = rng.choice(list(r["Values"]))
        configs.append(values)
    return configs


def objective_value(job: Any, metric_name: str) -> float | None:
    metrics = {m["MetricName"]: m["Value"] for m in job.final_metric_data_list or []}
    if metric_name in metrics:
        return metrics[metric_name]
    suffix = metric_name.split(":", 1)[-1]
    for channel in ("validation", "test", "train"):
        if f"{channel}:{suffix}" in metrics:
            return metrics[f"{channel}:{suffix}"]
    return None


def _counters(jobs: list[Any]) -> dict[str, int]:
    statuses = [j.training_job_status for j in jobs]
    return {
        "Completed": statuses.count("Completed"),
        "InProgress": statuses.count("InProgress"),
        "RetryableError": 0,
        "NonRetryableError": statuses.count("Failed"),
        "Stopped": statuses.count("Stopped"),
    }


def summary(tuning: Any, job: Any) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of one child job."""
    objective = tuning.hyper_parameter_tuning_job_config.get("HyperParameterTuningJobObjective") or {}
    value = objective_value(job, objective.get("MetricName", ""))
    out: dict[str, Any] = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TuningJobName": tuning.hyper_parameter_tuning_job_name,
        "CreationTime": job.creation_time,
        "TrainingStartTime": job.training_start_time,
        "TrainingEndTime": job.training_end_time,
        "TrainingJobStatus": job.training_job_status,
        "TunedHyperParameters": {
            k: v for k, v in (job.hyper_parameters or {}).items() if k in tuned_names(tuning)
        },
        "FailureReason": job.failure_reason,
        "ObjectiveStatus": "Pending",
    }
    if job.training_job_status in ("Completed", "Failed", "Stopped"):
        out["ObjectiveStatus"] = "Succeeded" if value is not None else "Failed"
    if value is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.get("Type", "Maximize"),
            "MetricName": objective.get("MetricName"),
            "Value": value,
        }
    return {k: v for k, v in out.items() if v is not None}


def tuned_names(tuning: Any) -> set[str]:
    ranges = tuning.hyper_parameter_tuning_job_config.get("ParameterRanges") or {}
    return {r["Name"] for group in ranges.values() for r in group or []}


def _done(backend: Any, job: Any) -> bool:
    run_info = run_of("training", backend, job.training_job_name)
    return run_info is None or run_info.done.is_set()


def _child_name(tuning_name: str, index: int, hps: dict[str, str]) -> str:
    digest = hashlib.sha1(repr(sorted(hps.items())).encode()).hexdigest()[:8]
    return f"{tuning_name[:32]}-{index:03d}-{digest}"


def run(backend: Any, tuning: Any, run_info: Run) -> None:
    """Create the training jobs (through the patched backend, so each one really runs) and track them."""
    name = tuning.hyper_parameter_tuning_job_name
    config = tuning.hyper_parameter_tuning_job_config
    definition = tuning.training_job_definition or (tuning.training_job_definitions or [None])[0]
    started = time.monotonic()
    try:
        if not definition:
            raise ValueError("TrainingJobDefinition is required")
        limits = config.get("ResourceLimits") or {}
        count = max(1, min(int(limits.get("MaxNumberOfTrainingJobs", 1)), MAX_TUNING_JOBS))
        parallel = max(1, int(limits.get("MaxParallelTrainingJobs", 1)))
        objective = config.get("HyperParameterTuningJobObjective") or {}
        metric, maximize = objective.get("MetricName", ""), objective.get("Type", "Maximize") == "Maximize"
        configs = sample_configurations(config, count)
        log.info(
            "tuning %s: %d training jobs, %d in parallel, objective %s", name, len(configs), parallel, metric
        )
        children: list[Any] = []
        pending = list(enumerate(configs, start=1))
        stopping = False
        while True:
            running = [j for j in children if not _done(backend, j)]
            if stop_requested() and not stopping:  # StopHyperParameterTuningJob: no new jobs, stop the rest
                stopping = True
                pending.clear()
                for job in running:
                    if job.training_job_status == "InProgress":
                        stop_job(backend, "training", job.training_job_name)
            while pending and len(running) < parallel:
                index, tuned = pending.pop(0)
                job = _create_child(backend, tuning, definition, index, tuned)
                children.append(job)
                running.append(job)
            _publish(tuning, children, metric, maximize)
            if not pending and not running:
                break
            time.sleep(0.2)
        _publish(tuning, children, metric, maximize)
        wait_min_duration(run_info)
        completed = [j for j in children if j.training_job_status == "Completed"]
        tuning.hyper_parameter_tuning_end_time = utcnow()
        tuning.consumed_resources = {"RuntimeInSeconds": int(time.monotonic() - started)}
        if stopping:
            tuning.hyper_parameter_tuning_job_status = "Stopped"
        elif completed:
            tuning.hyper_parameter_tuning_job_status = "Completed"
        else:
            tuning.failure_reason = "All training jobs failed: " + (children[0].failure_reason or "")[:900]
            tuning.hyper_parameter_tuning_job_status = "Failed"
        log.info("tuning %s: %s", name, tuning.hyper_parameter_tuning_job_status)
    except Exception as exc:
        log.exception("tuning %s failed", name)
        tuning.failure_reason = f"ClientError: {exc}"[:1024]
        tuning.hyper_parameter_tuning_end_time = utcnow()
        tuning.hyper_parameter_tuning_job_status = "Failed"
    tuning.last_modified_time = utcnow()


def _create_child(
    backend: Any, tuning: Any, definition: dict[str, Any], index: int, tuned: dict[str, str]
) -> Any:
    hps = dict(definition.get("StaticHyperParameters") or {})
    hps.update(tuned)
    spec = dict(definition["AlgorithmSpecification"])
    name = _child_name(tuning.hyper_parameter_tuning_job_name, index, tuned)
    job = backend.create_training_job(
        training_job_name=name,
        hyper_parameters=hps,
        algorithm_specification=spec,
        role_arn=definition.get("RoleArn"),
        input_data_config=definition.get("InputDataConfig") or [],
        output_data_config=definition["OutputDataConfig"],
        resource_config=definition.get("ResourceConfig") or {},
        vpc_config=definition.get("VpcConfig"),
        stopping_condition=definition.get("StoppingCondition") or {},
        tags=[],
        enable_network_isolation=definition.get("EnableNetworkIsolation", False),
        enable_inter_container_traffic_encryption=False,
        enable_managed_spot_training=False,
        checkpoint_config=None,
        debug_hook_config=None,
        debug_rule_configurations=None,
        tensor_board_output_config=None,
        experiment_config=None,
        environment=definition.get("Environment"),
        tuning_job_arn=tuning.arn,
    )
    tuning.training_jobs = [*tuning.training_jobs, name]
    return job


def _publish(tuning: Any, children: list[Any], metric: str, maximize: bool) -> None:
    tuning.training_job_status_counters = _counters(children)
    summaries = [summary(tuning, j) for j in children]
    tuning.objective_status_counters = {
        s: sum(1 for x in summaries if x["ObjectiveStatus"] == s) for s in ("Succeeded", "Pending", "Failed")
    }
    scored = [
        (s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], s)
        for s in summaries
        if s["TrainingJobStatus"] == "Completed" and "FinalHyperParameterTuningJobObjectiveMetric" in s
    ]
    if scored:
        best = (max if maximize else min)(scored, key=lambda pair: pair[0])[1]
        tuning.best_training_job = best
        tuning.OverallBestTrainingJob = best
    tuning.last_modified_time = utcnow()


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_hyper_parameter_tuning_job")
def _create_tuning_job(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_hyper_parameter_tuning_job(
        self: Any, hyper_parameter_tuning_job_name: str, **kwargs: Any
    ) -> str:
        arn = orig(self, hyper_parameter_tuning_job_name=hyper_parameter_tuning_job_name, **kwargs)
        job = self.hyper_parameter_tuning_jobs[hyper_parameter_tuning_job_name]
        job_experiment(self, "tuning", hyper_parameter_tuning_job_name)
        prepare(job)
        launch("tuning", self, hyper_parameter_tuning_job_name, lambda started: run(self, job, started))
        return arn

    return create_hyper_parameter_tuning_job


@registry.replaces("list_training_jobs_for_hyper_parameter_tuning_job")
def list_training_jobs_for_hyper_parameter_tuning_job(
    self: Any, hyper_parameter_tuning_job_name: str, status_equals: str | None = None
) -> list[dict[str, Any]]:
    """Backend method moto lacks: the child training jobs of a tuning job, as summaries."""
    job = self.hyper_parameter_tuning_jobs.get(hyper_parameter_tuning_job_name)
    if job is None:
        raise ResourceNotFound(
            f"Could not find hyper parameter tuning job '{hyper_parameter_tuning_job_name}'."
        )
    children = [self.training_jobs[n] for n in getattr(job, "training_jobs", []) if n in self.training_jobs]
    summaries = [summary(job, child) for child in children]
    return [s for s in summaries if status_equals in (None, s["TrainingJobStatus"])]


@registry.replaces("list_training_jobs_for_hyper_parameter_tuning_job", registry.RESPONSE)
def _response_list_training_jobs_for_tuning(self: Any) -> ActionResult:
    summaries = self.sagemaker_backend.list_training_jobs_for_hyper_parameter_tuning_job(
        self._get_param("HyperParameterTuningJobName"), self._get_param("StatusEquals")
    )
    reverse = self._get_param("SortOrder") == "Descending"
    if self._get_param("SortBy") == "FinalObjectiveMetricValue":
        summaries.sort(
            key=lambda s: s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get(
                "Value", float("-inf")
            ),
            reverse=reverse,
        )
    elif self._get_param("SortBy") == "Status":
        summaries.sort(key=lambda s: s["TrainingJobStatus"], reverse=reverse)
    return ActionResult({"TrainingJobSummaries": summaries})


registry.observes(
    "describe_hyper_parameter_tuning_job",
    "tuning",
    "HyperParameterTuningJobStatus",
    ("InProgress", "Stopping"),
    __name__,
)
