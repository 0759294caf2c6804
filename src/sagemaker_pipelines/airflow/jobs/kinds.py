"""The job kinds the exactly-once operators handle, as their kind specs describe them, and how long a wait
for one may last."""

from __future__ import annotations

import math
from typing import Any

from sagemaker_pipelines.compile.kinds.automl import AUTOML_JOB
from sagemaker_pipelines.compile.kinds.jobs import PROCESSING_JOB, TRAINING_JOB, TRANSFORM_JOB, TUNING_JOB
from sagemaker_pipelines.compile.kinds.pipelines import PIPELINE_EXECUTION
from sagemaker_pipelines.compile.kinds.spec import UNLIMITED_SECONDS, Job

TRAINING, PROCESSING, TRANSFORM, TUNING = TRAINING_JOB, PROCESSING_JOB, TRANSFORM_JOB, TUNING_JOB
AUTOML = AUTOML_JOB

__all__ = [
    "AUTOML",
    "BY_JOB_TYPE",
    "PIPELINE_EXECUTION",
    "PROCESSING",
    "TRAINING",
    "TRANSFORM",
    "TUNING",
    "UNLIMITED_SECONDS",
    "wait_attempts",
]

# The provider's SageMakerTrigger job_type (lower-cased) -> its kind.
BY_JOB_TYPE = {"training": TRAINING, "processing": PROCESSING, "transform": TRANSFORM, "tuning": TUNING}

# Beyond MaxRuntimeInSeconds a job also queues for instances, downloads and uploads: wait that much longer.
WAIT_MARGIN_SECONDS = 3600


def wait_attempts(kind: Job, config: dict[str, Any], check_interval: float) -> int:
    """How many status checks a wait needs so it never gives up before the job may still be running."""
    return math.ceil((kind.max_runtime(config) + WAIT_MARGIN_SECONDS) / max(1.0, float(check_interval or 1)))
