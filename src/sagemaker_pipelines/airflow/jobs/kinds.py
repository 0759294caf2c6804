"""What differs between the job kinds the exactly-once operators handle: names, API calls, limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# A week: AWS sets no runtime limit on a transform job, and a wait must not end before the job does.
UNLIMITED_SECONDS = 7 * 86400


@dataclass(frozen=True)
class JobKind:
    label: str  # as the task log names the job ("training job ...")
    name_field: str  # the request field holding the job's name
    status_field: str  # Describe*'s status field
    arn_field: str  # Describe*'s ARN field
    create: str  # boto3 client methods
    describe: str
    stop: str

    def name_holder(self, config: dict[str, Any]) -> dict[str, Any]:
        """The mapping that holds the job name: a transform operator's config may nest it in ``Transform``."""
        nested = config.get("Transform")
        return nested if isinstance(nested, dict) and self.name_field in nested else config

    def describe_job(self, client: Any, name: str) -> dict[str, Any]:
        return getattr(client, self.describe)(**{self.name_field: name})

    def stop_job(self, client: Any, name: str) -> None:
        getattr(client, self.stop)(**{self.name_field: name})

    def max_runtime(self, config: dict[str, Any]) -> int:
        """How long the job may run, in seconds, as its own request says (a tuning job: its training jobs
        one batch of parallel jobs after the other)."""
        holder = self.name_holder(config)
        if self.name_field == "HyperParameterTuningJobName":
            definition = (
                holder.get("TrainingJobDefinition") or (holder.get("TrainingJobDefinitions") or [{}])[0]
            )
            each = _seconds((definition.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"))
            limits = (holder.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
            jobs = int(limits.get("MaxNumberOfTrainingJobs") or 1)
            parallel = max(1, int(limits.get("MaxParallelTrainingJobs") or 1))
            return each * math.ceil(jobs / parallel) if each else UNLIMITED_SECONDS
        return (
            _seconds((holder.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")) or UNLIMITED_SECONDS
        )


def _seconds(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):  # an unrendered template: no limit known
        return 0


TRAINING = JobKind(
    "training job",
    "TrainingJobName",
    "TrainingJobStatus",
    "TrainingJobArn",
    "create_training_job",
    "describe_training_job",
    "stop_training_job",
)
PROCESSING = JobKind(
    "processing job",
    "ProcessingJobName",
    "ProcessingJobStatus",
    "ProcessingJobArn",
    "create_processing_job",
    "describe_processing_job",
    "stop_processing_job",
)
TRANSFORM = JobKind(
    "transform job",
    "TransformJobName",
    "TransformJobStatus",
    "TransformJobArn",
    "create_transform_job",
    "describe_transform_job",
    "stop_transform_job",
)
TUNING = JobKind(
    "hyperparameter tuning job",
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobStatus",
    "HyperParameterTuningJobArn",
    "create_hyper_parameter_tuning_job",
    "describe_hyper_parameter_tuning_job",
    "stop_hyper_parameter_tuning_job",
)

# The provider's SageMakerTrigger job_type (lower-cased) -> its kind.
BY_JOB_TYPE = {"training": TRAINING, "processing": PROCESSING, "transform": TRANSFORM, "tuning": TUNING}

# Beyond MaxRuntimeInSeconds a job also queues for instances, downloads and uploads: wait that much longer.
WAIT_MARGIN_SECONDS = 3600


def wait_attempts(kind: JobKind, config: dict[str, Any], check_interval: float) -> int:
    """How many status checks a wait needs so it never gives up before the job may still be running."""
    return math.ceil((kind.max_runtime(config) + WAIT_MARGIN_SECONDS) / max(1.0, float(check_interval or 1)))
