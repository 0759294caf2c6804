"""SageMaker jobs: training, tuning, processing and batch transform, and the sensors that wait for them.

Each function turns a task's concise fields into the full API request the provider's operator sends
(``config``), plus the operator's own arguments. The operators are the provider's with one paid job per
task instance (``airflow/jobs``), which ``Job`` tells how to describe and stop each job.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from sagemaker_pipelines.compile.kinds import lineage, outputs
from sagemaker_pipelines.compile.kinds.context import (
    RUN_STAMP,
    TaskContext,
    deep_merge,
    present,
    stringify,
    xcom,
)
from sagemaker_pipelines.compile.kinds.sensors import SENSOR_TEMPLATED, job_sensor
from sagemaker_pipelines.compile.kinds.spec import (
    CONFIG_TEMPLATED,
    OUR_JOB_OPERATORS,
    OUR_SENSORS,
    SAGEMAKER_SENSORS,
    Call,
    Graph,
    Job,
    Kind,
    Named,
)
from sagemaker_pipelines.paths import include_path

# Operator arguments each job operator takes besides wait_for_completion and check_interval.
_TRAINING_OPTIONS = (
    "max_ingestion_time",
    "max_attempts",
    "action_if_job_exists",
    "check_if_job_exists",
    "print_log",
)
_PROCESSING_OPTIONS = ("max_ingestion_time", "max_attempts", "action_if_job_exists", "print_log")
_TRANSFORM_OPTIONS = ("max_ingestion_time", "max_attempts", "action_if_job_exists", "check_if_job_exists")


def source_key(ctx: TaskContext) -> str:
    """Where script mode's sourcedir.tar.gz goes: per run, so a rerun never serves stale code."""
    return f"{ctx.pipeline.dag_id}/code/{RUN_STAMP}/{ctx.task_id}/sourcedir.tar.gz"


def script_mode(ctx: TaskContext) -> dict[str, Any] | None:
    """For an ``entry_point`` task: the program, its S3 source location and the upload to make first."""
    entry_point = ctx.get("entry_point")
    if not entry_point:
        return None
    script = PurePosixPath(entry_point)
    key = source_key(ctx)
    return {
        "program": script.name,
        "submit_directory": f"s3://{ctx.pipeline.bucket}/{key}",
        "upload": {
            "Path": str(include_path(str(script.parent))),
            "Bucket": ctx.pipeline.bucket,
            "Key": key,
            "Tar": True,
        },
    }


def training_image(ctx: TaskContext, *, serving: bool = False) -> str:
    """The task's image. The image table is imported here, not with the specs: a DAG built from the
    compile cache reads the specs in a fresh process and never needs the table."""
    from sagemaker_pipelines.compile.images import algorithm_image_uri, framework_image_uri

    if ctx.get("algorithm"):
        return algorithm_image_uri(ctx.get("algorithm"), ctx.pipeline.region)
    if ctx.get("image"):
        return ctx.get("image")
    return framework_image_uri(
        ctx.get("framework"), ctx.pipeline.region, ctx.get("framework_version"), serving=serving
    )


def hyperparameters(ctx: TaskContext) -> dict[str, str]:
    """Stringified hyperparameters; script mode JSON-encodes them and adds its own, as the SDK does."""
    values = ctx.get("hyperparameters", {})
    script = script_mode(ctx)
    if script is None:
        return {k: stringify(v) for k, v in values.items()}
    encoded = {k: v if _is_template(v) else json.dumps(v) for k, v in values.items()}
    encoded.update(
        {
            "sagemaker_program": json.dumps(script["program"]),
            "sagemaker_submit_directory": json.dumps(script["submit_directory"]),
            "sagemaker_region": json.dumps(ctx.pipeline.region),
            "sagemaker_container_log_level": "20",
        }
    )
    return encoded


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def input_channels(ctx: TaskContext) -> list[dict[str, Any]]:
    """The channels as written: a channel's InputMode only when it says one, since SageMaker gives a
    channel without one the job's TrainingInputMode (the task's ``input_mode``)."""
    channels = []
    for name, spec in ctx.get("inputs", {}).items():
        spec = {"s3_uri": spec} if isinstance(spec, str) else spec
        source = {"S3DataType": spec.get("s3_data_type", "S3Prefix"), "S3Uri": spec["s3_uri"]}
        if spec.get("distribution"):
            source["S3DataDistributionType"] = spec["distribution"]
        channels.append(
            {
                "ChannelName": name,
                "DataSource": {"S3DataSource": source},
                **present(
                    ContentType=spec.get("content_type"),
                    CompressionType=spec.get("compression"),
                    InputMode=spec.get("input_mode"),
                ),
            }
        )
    return channels


def algorithm_specification(ctx: TaskContext) -> dict[str, Any]:
    spec = {"TrainingImage": training_image(ctx), "TrainingInputMode": ctx.get("input_mode", "File")}
    if ctx.get("metric_definitions"):
        spec["MetricDefinitions"] = [
            {"Name": m["name"], "Regex": m["regex"]} for m in ctx.get("metric_definitions")
        ]
    return spec


def _training_resources(ctx: TaskContext) -> dict[str, Any]:
    return {
        "OutputDataConfig": {"S3OutputPath": output_path(ctx)},
        "ResourceConfig": {
            "InstanceCount": ctx.resource("instance_count"),
            "InstanceType": ctx.resource("instance_type"),
            "VolumeSizeInGB": ctx.resource("volume_size"),
        },
        "RoleArn": ctx.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": ctx.resource("max_runtime")},
    }


def output_path(ctx: TaskContext) -> str:
    return ctx.get("output") or ctx.default_output()


def _with_upload(config: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """The operator uploads (and tars) local code listed in S3Operations before it creates the job."""
    script = script_mode(ctx)
    if script:
        config["S3Operations"] = {"S3Upload": [script["upload"]]}
    return config


def training(ctx: TaskContext) -> dict[str, Any]:
    config = {
        "AlgorithmSpecification": algorithm_specification(ctx),
        "HyperParameters": hyperparameters(ctx),
        **present(InputDataConfig=input_channels(ctx) or None),  # optional in the API, never empty
        **_training_resources(ctx),
        "TrainingJobName": ctx.job_name(),
    }
    if ctx.get("environment"):
        config["Environment"] = ctx.get("environment")
    config = _with_upload(deep_merge(config, ctx.get("config", {})), ctx)
    return {"config": config, **ctx.sagemaker_operator_args(), **ctx.waiting_args(*_TRAINING_OPTIONS)}


_RANGE_KEYS = {"integer": "IntegerParameterRanges", "continuous": "ContinuousParameterRanges"}


def parameter_ranges(ranges: dict[str, dict[str, Any]]) -> dict[str, list]:
    result: dict[str, list] = {
        "IntegerParameterRanges": [],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, spec in ranges.items():
        if spec["type"] == "categorical":
            result["CategoricalParameterRanges"].append(
                {"Name": name, "Values": [stringify(v) for v in spec.get("values", [])]}
            )
            continue
        cast = int if spec["type"] == "integer" else float
        entry = {
            "Name": name,
            "MinValue": _bound(spec.get("min", 0), cast),
            "MaxValue": _bound(spec.get("max", 0), cast),
        }
        if spec.get("scaling"):
            entry["ScalingType"] = spec["scaling"]
        result[_RANGE_KEYS[spec["type"]]].append(entry)
    return {k: v for k, v in result.items() if v}


def _bound(value: Any, cast: type) -> str:
    return value if _is_template(value) else stringify(cast(value))


def tuning(ctx: TaskContext) -> dict[str, Any]:
    objective = ctx.get("objective", {})
    config = {
        "HyperParameterTuningJobName": ctx.job_name(limit=32),
        "HyperParameterTuningJobConfig": {
            "Strategy": ctx.get("strategy", "Bayesian"),
            "HyperParameterTuningJobObjective": {
                "Type": objective.get("type", "Maximize"),
                "MetricName": objective.get("metric"),
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": ctx.get("max_jobs", 4),
                "MaxParallelTrainingJobs": ctx.get("max_parallel", 1),
            },
            "ParameterRanges": parameter_ranges(ctx.get("ranges", {})),
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": algorithm_specification(ctx),
            "StaticHyperParameters": hyperparameters(ctx),
            **present(InputDataConfig=input_channels(ctx) or None),
            **_training_resources(ctx),
            **present(Environment=ctx.get("environment")),
        },
    }
    config = _with_upload(deep_merge(config, ctx.get("config", {})), ctx)
    return {"config": config, **ctx.sagemaker_operator_args(), **ctx.waiting_args("max_ingestion_time")}


PROCESSING_ROOT = "/opt/ml/processing"


def _processing_io(spec: str | dict, default_path: str) -> tuple[str, str]:
    if isinstance(spec, str):
        return spec, default_path
    return spec["s3_uri"], spec.get("local_path", default_path)


def processing(ctx: TaskContext) -> dict[str, Any]:
    inputs = []
    for name, spec in ctx.get("inputs", {}).items():
        uri, local = _processing_io(spec, f"{PROCESSING_ROOT}/input/{name}")
        inputs.append(
            {
                "InputName": name,
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": local,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        )
    outputs = []
    for name, spec in ctx.get("outputs", {}).items():
        uri, local = _processing_io(spec, f"{PROCESSING_ROOT}/output/{name}")
        outputs.append(
            {"OutputName": name, "S3Output": {"S3Uri": uri, "LocalPath": local, "S3UploadMode": "EndOfJob"}}
        )
    app: dict[str, Any] = {}
    upload = None
    if ctx.get("entry_point"):
        script = PurePosixPath(ctx.get("entry_point"))
        key = f"{ctx.pipeline.dag_id}/code/{RUN_STAMP}/{ctx.task_id}/{script.name}"
        source = str(include_path(str(script)))
        upload = {"Path": source, "Bucket": ctx.pipeline.bucket, "Key": key, "Tar": False}
        code_dir = f"{PROCESSING_ROOT}/input/code"
        inputs.insert(
            0,
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{ctx.pipeline.bucket}/{key}",
                    "LocalPath": code_dir,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        )
        from sagemaker_pipelines.compile.images import framework_image_uri  # see training_image

        app["ImageUri"] = framework_image_uri(
            ctx.get("framework", "sklearn"), ctx.pipeline.region, ctx.get("framework_version"), serving=False
        )
        app["ContainerEntrypoint"] = ["python3", f"{code_dir}/{script.name}"]
    else:
        app["ImageUri"] = ctx.get("image")
        if ctx.get("command"):
            app["ContainerEntrypoint"] = ctx.get("command")
    if ctx.get("arguments"):
        app["ContainerArguments"] = ctx.get("arguments")
    config = {
        "ProcessingJobName": ctx.job_name(),
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": ctx.resource("instance_count"),
                "InstanceType": ctx.resource("instance_type"),
                "VolumeSizeInGB": ctx.resource("volume_size"),
            }
        },
        "AppSpecification": app,
        "RoleArn": ctx.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": ctx.resource("max_runtime")},
        **present(ProcessingInputs=inputs or None, Environment=ctx.get("environment")),
    }
    if outputs:
        config["ProcessingOutputConfig"] = {"Outputs": outputs}
    config = deep_merge(config, ctx.get("config", {}))
    if upload:
        config["S3Operations"] = {"S3Upload": [upload]}
    reports = [
        {"output_name": spec["output"], "file_name": spec["file"], "result_name": name}
        for name, spec in ctx.get("reports", {}).items()
    ]
    return {
        "config": config,
        **ctx.sagemaker_operator_args(),
        **ctx.waiting_args(*_PROCESSING_OPTIONS),
        **present(output_files_to_xcom=reports or None),
    }


def model_name_of(ctx: TaskContext, field: str = "model", literal: str = "model_name") -> str:
    """The model a transform or endpoint config uses: another task's (via XCom) or an existing one."""
    if ctx.get(field):
        return xcom(ctx.get(field), "Model", "ModelName")
    return ctx.get(literal)


def transform(ctx: TaskContext) -> dict[str, Any]:
    transform_input = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": ctx.get("input")}},
        **present(
            SplitType=ctx.get("split_type"),
            ContentType=ctx.get("content_type"),
            CompressionType=ctx.get("compression"),
        ),
    }
    config = {
        "TransformJobName": ctx.job_name(),
        "TransformInput": transform_input,
        "TransformOutput": {
            "S3OutputPath": ctx.get("output"),
            **present(Accept=ctx.get("accept"), AssembleWith=ctx.get("assemble_with")),
        },
        "TransformResources": {
            "InstanceCount": ctx.resource("instance_count"),
            "InstanceType": ctx.resource("instance_type"),
        },
        "ModelName": model_name_of(ctx),
        **present(
            BatchStrategy=ctx.get("batch_strategy"),
            MaxPayloadInMB=ctx.get("max_payload"),
            MaxConcurrentTransforms=ctx.get("max_concurrent"),
            Environment=ctx.get("environment"),
        ),
    }
    config = deep_merge(config, ctx.get("config", {}))
    return {"config": config, **ctx.sagemaker_operator_args(), **ctx.waiting_args(*_TRANSFORM_OPTIONS)}


TRAINING_JOB = Job(
    "training job",
    "training-job",
    "TrainingJobName",
    "Training",
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "StopTrainingJob",
)
TUNING_JOB = Job(
    "hyperparameter tuning job",
    "hyper-parameter-tuning-job",
    "HyperParameterTuningJobName",
    "Tuning",
    "CreateHyperParameterTuningJob",
    "DescribeHyperParameterTuningJob",
    "StopHyperParameterTuningJob",
)
PROCESSING_JOB = Job(
    "processing job",
    "processing-job",
    "ProcessingJobName",
    "Processing",
    "CreateProcessingJob",
    "DescribeProcessingJob",
    "StopProcessingJob",
)
TRANSFORM_JOB = Job(
    "transform job",
    "transform-job",
    "TransformJobName",
    "Transform",
    "CreateTransformJob",
    "DescribeTransformJob",
    "StopTransformJob",
)

_JOB_SOURCE = (("algorithm", "image", "entry_point"),)


def _sensor(operator: str, job: Job, producer: str, *options: str) -> Kind:
    return Kind(
        operator,
        job_sensor(job, *options),
        Graph.SENSOR,
        (job.watch_call(),),
        references={"job": (producer,)},
        one_of=(("job", "job_name"),),
        templated=SENSOR_TEMPLATED,
    )


SPECS = {
    "training": Kind(
        OUR_JOB_OPERATORS + "SageMakerTrainingOperator",
        training,
        Graph.JOB,
        (),
        "CreateTrainingJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TRAINING,
        templated=CONFIG_TEMPLATED,
        job=TRAINING_JOB,
        lineage=lineage.training,
    ),
    "tuning": Kind(
        OUR_JOB_OPERATORS + "SageMakerTuningOperator",
        tuning,
        Graph.JOB,
        (),
        "CreateHyperParameterTuningJob",
        one_of=_JOB_SOURCE,
        outputs=outputs.TUNING,
        templated=CONFIG_TEMPLATED,
        job=TUNING_JOB,
        lineage=lineage.tuning,
    ),
    "processing": Kind(
        OUR_JOB_OPERATORS + "SageMakerProcessingOperator",
        processing,
        Graph.JOB,
        (),
        "CreateProcessingJob",
        one_of=(("entry_point", "image"),),
        outputs=outputs.PROCESSING,
        templated=(*CONFIG_TEMPLATED, "output_files_to_xcom"),
        job=PROCESSING_JOB,
        lineage=lineage.processing,
    ),
    "transform": Kind(
        OUR_JOB_OPERATORS + "SageMakerTransformOperator",
        transform,
        Graph.JOB,
        (Call("DescribeModel", "model", Named(field="ModelName")),),  # the operator checks the model
        "CreateTransformJob",
        {"model": ("model",)},
        (("model", "model_name"),),
        outputs.TRANSFORM,
        CONFIG_TEMPLATED,
        job=TRANSFORM_JOB,
        lineage=lineage.transform,
    ),
    "training_sensor": _sensor(
        SAGEMAKER_SENSORS + "SageMakerTrainingSensor", TRAINING_JOB, "training", "print_log"
    ),
    "transform_sensor": _sensor(SAGEMAKER_SENSORS + "SageMakerTransformSensor", TRANSFORM_JOB, "transform"),
    "tuning_sensor": _sensor(SAGEMAKER_SENSORS + "SageMakerTuningSensor", TUNING_JOB, "tuning"),
    "processing_sensor": _sensor(OUR_SENSORS + "SageMakerProcessingSensor", PROCESSING_JOB, "processing"),
}
