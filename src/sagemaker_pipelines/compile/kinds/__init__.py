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

from sagemaker_pipelines.compile import allowed_operators
from sagemaker_pipelines.compile.kinds import (
    automl,
    data,
    gates,
    hosting,
    jobs,
    notebooks,
    outputs,
    pipelines,
    registry,
    sensors,
)
from sagemaker_pipelines.compile.kinds.context import TaskContext
from sagemaker_pipelines.compile.kinds.outputs import Output

__all__ = ["ALIASES", "KINDS", "Kind", "TaskContext", "all_kind_names", "resolve_kind"]

_SM = "airflow.providers.amazon.aws.operators.sagemaker."
# The provider sensors that report a failure as "Unknown", with the reason put back (airflow/sensors.py).
_OUR_SENSORS = "sagemaker_pipelines.airflow.sensors."
_SMS = "airflow.providers.amazon.aws.sensors.sagemaker."
# The provider's job operators with one paid job per task instance (re-attached on retry, stopped on cancel).
_JOBS = "sagemaker_pipelines.airflow.jobs.operators."


@dataclass(frozen=True)
class Kind:
    operator: str  # dotted path of the Airflow operator class
    compile: Callable[[TaskContext], dict[str, Any]]  # task fields -> operator keyword arguments
    api_operation: str | None = None  # SageMaker API request to check offline against botocore
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> kinds it may name
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of fields of which exactly one must be given
    outputs: dict[str, Output] = field(default_factory=dict)  # what ${tasks.<id>.<output>} may name
    templated: tuple[str, ...] = ()  # the operator's template_fields: arguments rendered at run time
    # The API request the operator sends, rebuilt from its arguments for the botocore check (default:
    # the ``config`` argument, which SageMakerBaseOperator subclasses send as it is).
    request: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # The class a task names itself (kind: operator, from the environment's allowed_operators).
    operator_of: Callable[[TaskContext], str] | None = None

    def request_of(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return self.request(kwargs) if self.request else kwargs["config"]


_AWS = ("aws_conn_id", "region_name", "verify")
_NOTEBOOK_ACTION = (*_AWS, "instance_name", "wait_for_completion")
_SM_TEMPLATED = ("aws_conn_id", "config", "region_name", "verify")
_SENSOR_TEMPLATED = ("aws_conn_id", "job_name", "region_name", "verify")


_JOB_SOURCE = (("algorithm", "image", "entry_point"),)

KINDS: dict[str, Kind] = {
    "training": Kind(
        _JOBS + "SageMakerTrainingOperator",
        jobs.training,
        "CreateTrainingJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TRAINING,
        templated=_SM_TEMPLATED,
    ),
    "tuning": Kind(
        _JOBS + "SageMakerTuningOperator",
        jobs.tuning,
        "CreateHyperParameterTuningJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TUNING,
        templated=_SM_TEMPLATED,
    ),
    "processing": Kind(
        _JOBS + "SageMakerProcessingOperator",
        jobs.processing,
        "CreateProcessingJob",
        one_of=(("entry_point", "image"),),
        outputs=outputs.PROCESSING,
        templated=(*_SM_TEMPLATED, "output_files_to_xcom"),
    ),
    "transform": Kind(
        _JOBS + "SageMakerTransformOperator",
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
        {"from": ("training", "tuning"), "model_package": ("register_model",)},
        (("from", "image", "model_package"),),
        outputs.MODEL,
        _SM_TEMPLATED,
    ),
    "delete_model": Kind(
        _SM + "SageMakerDeleteModelOperator",
        hosting.delete_model,
        "DeleteModel",
        {"model": ("model",)},
        (("model", "model_name"),),
        templated=_SM_TEMPLATED,
    ),
    "register_model": Kind(
        _SM + "SageMakerRegisterModelVersionOperator",
        registry.register_model,
        "CreateModelPackage",
        {"from": ("training", "tuning")},
        (("from", "image"),),
        outputs.REGISTER,
        (
            *_AWS,
            "image_uri",
            "model_approval",
            "model_url",
            "package_desc",
            "package_group_desc",
            "package_group_name",
        ),
        registry.register_request,
    ),
    "automl": Kind(
        _SM + "SageMakerAutoMLOperator",
        automl.automl,
        "CreateAutoMLJob",
        outputs=outputs.AUTOML,
        templated=(
            *_AWS,
            "autodeploy_endpoint_name",
            "compressed_input",
            "extras",
            "job_name",
            "role_arn",
            "s3_input",
            "s3_output",
            "target_attribute",
            "time_limit",
        ),
        request=automl.automl_request,
    ),
    "start_pipeline": Kind(
        _SM + "SageMakerStartPipelineOperator",
        pipelines.start_pipeline,
        "StartPipelineExecution",
        outputs=outputs.START_PIPELINE,
        templated=(*_AWS, "display_name", "pipeline_name", "pipeline_params"),
        request=pipelines.start_request,
    ),
    "stop_pipeline": Kind(
        _SM + "SageMakerStopPipelineOperator",
        pipelines.stop_pipeline,
        "StopPipelineExecution",
        {"execution": ("start_pipeline",)},
        (("execution", "execution_arn"),),
        outputs.STOP_PIPELINE,
        (*_AWS, "pipeline_exec_arn"),
        pipelines.stop_request,
    ),
    "experiment": Kind(
        _SM + "SageMakerCreateExperimentOperator",
        notebooks.experiment,
        "CreateExperiment",
        outputs=outputs.EXPERIMENT,
        templated=(*_AWS, "description", "name", "tags"),
        request=notebooks.experiment_request,
    ),
    "notebook": Kind(
        _SM + "SageMakerCreateNotebookOperator",
        notebooks.notebook,
        "CreateNotebookInstance",
        outputs=outputs.NOTEBOOK,
        templated=(
            *_AWS,
            "create_instance_kwargs",
            "direct_internet_access",
            "instance_name",
            "instance_type",
            "lifecycle_config_name",
            "role_arn",
            "root_access",
            "volume_kms_key_id",
            "volume_size_in_gb",
            "wait_for_completion",
        ),
        request=notebooks.notebook_request,
    ),
    "start_notebook": Kind(
        _SM + "SageMakerStartNoteBookOperator",
        notebooks.notebook_action,
        "StartNotebookInstance",
        {"notebook": ("notebook",)},
        (("notebook", "instance_name"),),
        templated=_NOTEBOOK_ACTION,
        request=notebooks.instance_request,
    ),
    "stop_notebook": Kind(
        _SM + "SageMakerStopNotebookOperator",
        notebooks.notebook_action,
        "StopNotebookInstance",
        {"notebook": ("notebook",)},
        (("notebook", "instance_name"),),
        templated=_NOTEBOOK_ACTION,
        request=notebooks.instance_request,
    ),
    "delete_notebook": Kind(
        _SM + "SageMakerDeleteNotebookOperator",
        notebooks.notebook_action,
        "DeleteNotebookInstance",
        {"notebook": ("notebook",)},
        (("notebook", "instance_name"),),
        templated=_NOTEBOOK_ACTION,
        request=notebooks.instance_request,
    ),
    # SageMaker Unified Studio: no SageMaker request of its own to check (the SDK builds it at run time).
    "studio_notebook": Kind(
        "airflow.providers.amazon.aws.operators.sagemaker_unified_studio.SageMakerNotebookOperator",
        notebooks.studio_notebook,
        outputs=outputs.STUDIO_NOTEBOOK,
        templated=(
            "domain_id",
            "project_id",
            "domain_region",
            "input_config",
            "output_config",
            "compute",
            "termination_condition",
            "tags",
        ),
    ),
    "studio_notebook_sensor": Kind(
        # the provider's sensor with a poke that works (its own calls a method its hook lacks)
        "sagemaker_pipelines.airflow.studio_sensor.SageMakerNotebookSensor",
        notebooks.studio_notebook_sensor,
    ),
    "condition": Kind(
        _SM + "SageMakerConditionOperator",
        gates.condition,
        templated=(
            "condition_type",
            "left_value",
            "right_value",
            "conditions",
            "if_task_ids",
            "else_task_ids",
        ),
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
    "processing_sensor": Kind(
        _OUR_SENSORS + "SageMakerProcessingSensor",
        sensors.job_sensor,
        None,
        {"job": ("processing",)},
        (("job", "job_name"),),
        templated=_SENSOR_TEMPLATED,
    ),
    "automl_sensor": Kind(
        _OUR_SENSORS + "SageMakerAutoMLSensor",
        sensors.automl_sensor,
        None,
        {"job": ("automl",)},
        (("job", "job_name"),),
        templated=_SENSOR_TEMPLATED,
    ),
    "pipeline_sensor": Kind(
        _OUR_SENSORS + "SageMakerPipelineSensor",
        sensors.pipeline_sensor,
        None,
        {"execution": ("start_pipeline",)},
        (("execution", "execution_arn"),),
        templated=(*_AWS, "pipeline_exec_arn"),
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
    # Any class the environment's allowed_operators lists (compile/allowed_operators.py).
    allowed_operators.KIND: Kind(
        allowed_operators.BASE_OPERATOR,
        allowed_operators.compile_operator,
        operator_of=allowed_operators.operator_of,
    ),
}

# Kinds that become another kind depending on the environment.
ALIASES: dict[str, Callable[[TaskContext], str]] = {"warehouse_load": data.warehouse_kind}
# What each alias may resolve to, in any environment: a DAG file, written once for every environment,
# pre-imports all of their operators.
ALIAS_TARGETS: dict[str, tuple[str, ...]] = {"warehouse_load": ("s3_to_redshift", "s3_to_sql")}


def resolve_kind(ctx: TaskContext) -> str:
    kind = ctx.get("kind")
    return ALIASES[kind](ctx) if kind in ALIASES else kind


def all_kind_names() -> list[str]:
    return sorted([*KINDS, *ALIASES])
