"""The one table that maps task kinds to Airflow operators and to the functions that compile them.

Adding a kind means: a schema branch in ``schemas/pipeline.schema.json``, a compile function, and a row
here. ``references`` says which fields name other tasks and which kinds those must be; the semantic
checks and the implicit dependencies both read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sagemaker_pipelines.compile.kinds import data, hosting, jobs, sensors
from sagemaker_pipelines.compile.kinds.context import TaskContext

__all__ = ["ALIASES", "KINDS", "Kind", "TaskContext", "all_kind_names", "resolve_kind"]

_SM = "airflow.providers.amazon.aws.operators.sagemaker."
_SMS = "airflow.providers.amazon.aws.sensors.sagemaker."


@dataclass(frozen=True)
class Kind:
    operator: str  # dotted path of the Airflow operator class
    compile: Callable[[TaskContext], dict[str, Any]]  # task fields -> operator keyword arguments
    api_operation: str | None = None  # SageMaker API request to check offline against botocore
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> kinds it may name
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of fields of which exactly one must be given


_JOB_SOURCE = (("algorithm", "image", "entry_point"),)

KINDS: dict[str, Kind] = {
    "training": Kind(
        _SM + "SageMakerTrainingOperator", jobs.training, "CreateTrainingJob", one_of=_JOB_SOURCE
    ),
    "tuning": Kind(
        _SM + "SageMakerTuningOperator", jobs.tuning, "CreateHyperParameterTuningJob", one_of=_JOB_SOURCE
    ),
    "processing": Kind(
        _SM + "SageMakerProcessingOperator",
        jobs.processing,
        "CreateProcessingJob",
        one_of=(("entry_point", "image"),),
    ),
    "transform": Kind(
        _SM + "SageMakerTransformOperator",
        jobs.transform,
        "CreateTransformJob",
        {"model": ("model",)},
        (("model", "model_name"),),
    ),
    "model": Kind(
        _SM + "SageMakerModelOperator",
        hosting.model,
        "CreateModel",
        {"from": ("training", "tuning")},
        (("from", "image"),),
    ),
    "endpoint_config": Kind(
        _SM + "SageMakerEndpointConfigOperator",
        hosting.endpoint_config,
        "CreateEndpointConfig",
        {"model": ("model",)},
        (("model", "model_name"),),
    ),
    "endpoint": Kind(
        _SM + "SageMakerEndpointOperator",
        hosting.endpoint,
        "CreateEndpoint",
        {"endpoint_config": ("endpoint_config",)},
        (("endpoint_config", "endpoint_config_name"),),
    ),
    "training_sensor": Kind(
        _SMS + "SageMakerTrainingSensor",
        sensors.job_sensor,
        None,
        {"job": ("training",)},
        (("job", "job_name"),),
    ),
    "transform_sensor": Kind(
        _SMS + "SageMakerTransformSensor",
        sensors.job_sensor,
        None,
        {"job": ("transform",)},
        (("job", "job_name"),),
    ),
    "tuning_sensor": Kind(
        _SMS + "SageMakerTuningSensor", sensors.job_sensor, None, {"job": ("tuning",)}, (("job", "job_name"),)
    ),
    "endpoint_sensor": Kind(
        _SMS + "SageMakerEndpointSensor",
        sensors.endpoint_sensor,
        None,
        {"endpoint": ("endpoint",)},
        (("endpoint", "endpoint_name"),),
    ),
    "python": Kind("airflow.providers.standard.operators.python.PythonOperator", data.python),
    "s3_upload": Kind(
        "airflow.providers.amazon.aws.transfers.local_to_s3.LocalFilesystemToS3Operator", data.s3_upload
    ),
    "s3_key_sensor": Kind("airflow.providers.amazon.aws.sensors.s3.S3KeySensor", sensors.s3_key_sensor),
    "s3_to_redshift": Kind(
        "airflow.providers.amazon.aws.transfers.s3_to_redshift.S3ToRedshiftOperator", data.s3_to_redshift
    ),
    # The provider's S3ToSqlOperator, loading a whole prefix too (as a Redshift COPY does).
    "s3_to_sql": Kind("sagemaker_pipelines.airflow.warehouse.S3ToSqlOperator", data.s3_to_sql),
}

# Kinds that become another kind depending on the environment.
ALIASES: dict[str, Callable[[TaskContext], str]] = {"warehouse_load": data.warehouse_kind}


def resolve_kind(ctx: TaskContext) -> str:
    kind = ctx.get("kind")
    return ALIASES[kind](ctx) if kind in ALIASES else kind


def all_kind_names() -> list[str]:
    return sorted([*KINDS, *ALIASES])
