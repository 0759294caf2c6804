"""The one table that maps task kinds to Airflow operators and to the functions that compile them.

Adding a kind means: a schema branch in ``schemas/pipeline.schema.json``, a compile function, and a row
here. ``references`` says which fields name other tasks and which kinds those must be; the semantic
checks and the implicit dependencies both read it. ``outputs`` are what ``${tasks.<id>.<output>}`` may
name (``outputs.py``), ``templated`` the operator's ``template_fields`` (where such run-time values may go;
a test compares them with the operator classes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sagemaker_pipelines.compile.kinds import data, hosting, jobs, outputs, sensors
from sagemaker_pipelines.compile.kinds.context import TaskContext
from sagemaker_pipelines.compile.kinds.outputs import Output

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
    outputs: dict[str, Output] = field(default_factory=dict)  # what ${tasks.<id>.<output>} may name
    templated: tuple[str, ...] = ()  # the operator's template_fields: arguments rendered at run time


_AWS = ("aws_conn_id", "region_name", "verify")
_SM_TEMPLATED = ("aws_conn_id", "config", "region_name", "verify")
_SENSOR_TEMPLATED = ("aws_conn_id", "job_name", "region_name", "verify")


_JOB_SOURCE = (("algorithm", "image", "entry_point"),)

KINDS: dict[str, Kind] = {
    "training": Kind(
        _SM + "SageMakerTrainingOperator",
        jobs.training,
        "CreateTrainingJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TRAINING,
        templated=_SM_TEMPLATED,
    ),
    "tuning": Kind(
        _SM + "SageMakerTuningOperator",
        jobs.tuning,
        "CreateHyperParameterTuningJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TUNING,
        templated=_SM_TEMPLATED,
    ),
    "processing": Kind(
        _SM + "SageMakerProcessingOperator",
        jobs.processing,
        "CreateProcessingJob",
        one_of=(("entry_point", "image"),),
        outputs=outputs.PROCESSING,
        templated=(*_SM_TEMPLATED, "output_files_to_xcom"),
    ),
    "transform": Kind(
        _SM + "SageMakerTransformOperator",
        jobs.transform,
        "CreateTransformJob",
        {"model": ("model",)},
        (("model", "model_name"),),
        outputs.TRANSFORM,
        _SM_TEMPLATED,
    ),
    "model": Kind(
        _SM + "SageMakerModelOperator",
        hosting.model,
        "CreateModel",
        {"from": ("training", "tuning")},
        (("from", "image"),),
        outputs.MODEL,
        _SM_TEMPLATED,
    ),
    "endpoint_config": Kind(
        _SM + "SageMakerEndpointConfigOperator",
        hosting.endpoint_config,
        "CreateEndpointConfig",
        {"model": ("model",)},
        (("model", "model_name"),),
        outputs.ENDPOINT_CONFIG,
        _SM_TEMPLATED,
    ),
    "endpoint": Kind(
        _SM + "SageMakerEndpointOperator",
        hosting.endpoint,
        "CreateEndpoint",
        {"endpoint_config": ("endpoint_config",)},
        (("endpoint_config", "endpoint_config_name"),),
        outputs.ENDPOINT,
        _SM_TEMPLATED,
    ),
    "training_sensor": Kind(
        _SMS + "SageMakerTrainingSensor",
        sensors.job_sensor,
        None,
        {"job": ("training",)},
        (("job", "job_name"),),
        templated=_SENSOR_TEMPLATED,
    ),
    "transform_sensor": Kind(
        _SMS + "SageMakerTransformSensor",
        sensors.job_sensor,
        None,
        {"job": ("transform",)},
        (("job", "job_name"),),
        templated=_SENSOR_TEMPLATED,
    ),
    "tuning_sensor": Kind(
        _SMS + "SageMakerTuningSensor",
        sensors.job_sensor,
        None,
        {"job": ("tuning",)},
        (("job", "job_name"),),
        templated=_SENSOR_TEMPLATED,
    ),
    "endpoint_sensor": Kind(
        _SMS + "SageMakerEndpointSensor",
        sensors.endpoint_sensor,
        None,
        {"endpoint": ("endpoint",)},
        (("endpoint", "endpoint_name"),),
        templated=("aws_conn_id", "endpoint_name", "region_name", "verify"),
    ),
    "python": Kind(
        "airflow.providers.standard.operators.python.PythonOperator",
        data.python,
        outputs=outputs.PYTHON,
        templated=("templates_dict", "op_args", "op_kwargs"),
    ),
    "s3_upload": Kind(
        "airflow.providers.amazon.aws.transfers.local_to_s3.LocalFilesystemToS3Operator",
        data.s3_upload,
        templated=("filename", "dest_key", "dest_bucket", "aws_conn_id"),
    ),
    "s3_key_sensor": Kind(
        "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        sensors.s3_key_sensor,
        templated=("aws_conn_id", "bucket_key", "bucket_name", "region_name", "verify"),
    ),
    "s3_to_redshift": Kind(
        "airflow.providers.amazon.aws.transfers.s3_to_redshift.S3ToRedshiftOperator",
        data.s3_to_redshift,
        templated=(
            "s3_bucket",
            "s3_key",
            "schema",
            "table",
            "column_list",
            "copy_options",
            "redshift_conn_id",
            "method",
            "redshift_data_api_kwargs",
            "aws_conn_id",
        ),
    ),
    # The provider's S3ToSqlOperator, loading a whole prefix too (as a Redshift COPY does).
    "s3_to_sql": Kind(
        "sagemaker_pipelines.airflow.warehouse.S3ToSqlOperator",
        data.s3_to_sql,
        templated=("s3_bucket", "s3_key", "schema", "table", "column_list", "sql_conn_id", "aws_conn_id"),
    ),
}

# Kinds that become another kind depending on the environment.
ALIASES: dict[str, Callable[[TaskContext], str]] = {"warehouse_load": data.warehouse_kind}


def resolve_kind(ctx: TaskContext) -> str:
    kind = ctx.get("kind")
    return ALIASES[kind](ctx) if kind in ALIASES else kind


def all_kind_names() -> list[str]:
    return sorted([*KINDS, *ALIASES])
