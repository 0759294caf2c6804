"""Our example pipelines, compiled for the ``aws`` environment and rendered as Airflow would render them,
equal the hand-written configs of the guide ("Using Airflow with SageMaker") field for field.

The guide's dicts are copied below as Python literals (the guide itself lives outside the repository).
Only these documented differences are normalised, each with its own assertion:

- job and model names carry a per-run suffix (``-<ts_nodash>-<try>``), so reruns never collide: ours must
  start with the guide's base name and match SageMaker's name pattern;
- the role ARN: the guide has the placeholder ``'your-role-arn'``, ours is the environment's role;
- the built-in KNN image: the guide's URI is untagged (``:latest``), ours carries the tag the SageMaker
  SDK gives it (``knn:1``, the same image, pinned to the algorithm's major version);

The Redshift load copies the whole output prefix with no column list, as the guide does: no difference.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import re
from typing import Any

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.compile.compiled import CompiledPipeline
from tests.templating import operator_class, render_all, run_context

from .conftest import PIPELINES

# ---------------------------------------------------------------------------------------------------------
# The guide, verbatim (its format() calls evaluated by hand; '{{ ds_nodash }}' kept where it used `date`).
S3_BUCKET = "sagemaker-us-east-2-559345414282"
ROLE = "your-role-arn"

# Use case 1: orchestrate an existing SageMaker model (batch inference).
GUIDE_BATCH_TRANSFORM_CONFIG = {
    "TransformJobName": "test-sagemaker-job-{{ ds_nodash }}",
    "TransformInput": {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{S3_BUCKET}/demo-sagemaker-xgboost-adult-income-prediction/test/test.csv",
            }
        },
        "SplitType": "Line",
        "ContentType": "text/csv",
    },
    "TransformOutput": {
        "S3OutputPath": f"s3://{S3_BUCKET}/demo-sagemaker-xgboost-adult-income-prediction/output/"
    },
    "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    "ModelName": "sagemaker-xgboost-2021-08-03-23-25-30-873",
}
GUIDE_S3_TO_REDSHIFT_ARGS = {
    "aws_conn_id": "aws-sagemaker",
    "s3_bucket": S3_BUCKET,
    "s3_key": "demo-sagemaker-xgboost-adult-income-prediction/output/",
    "schema": "PUBLIC",
    "table": "results",
    "copy_options": ["csv"],
}
GUIDE_BATCH_DEFAULT_ARGS = {
    "owner": "airflow",
    "depends_on_past": False,
    "email_on_failure": False,
    "email_on_retry": False,
    "retries": 1,
    "retry_delay": dt.timedelta(minutes=1),
}

# Use case 2: orchestrate a full ML pipeline (Iris, built-in KNN).
GUIDE_TRAINING_CONFIG = {
    "AlgorithmSpecification": {
        "TrainingImage": "404615174143.dkr.ecr.us-east-2.amazonaws.com/knn",
        "TrainingInputMode": "File",
    },
    "HyperParameters": {"predictor_type": "classifier", "feature_dim": "4", "k": "3", "sample_size": "150"},
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{S3_BUCKET}/iris/processed-input-data/train.csv",
                }
            },
            "ContentType": "text/csv",
            "InputMode": "File",
        }
    ],
    "OutputDataConfig": {"S3OutputPath": f"s3://{S3_BUCKET}/iris/results/"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
    "RoleArn": ROLE,
    "StoppingCondition": {"MaxRuntimeInSeconds": 6000},
    "TrainingJobName": "train-iris",
}
GUIDE_MODEL_CONFIG = {
    "ExecutionRoleArn": ROLE,
    "ModelName": "Iris-KNN",
    "PrimaryContainer": {
        "Mode": "SingleModel",
        "Image": "404615174143.dkr.ecr.us-east-2.amazonaws.com/knn",
        "ModelDataUrl": f"s3://{S3_BUCKET}/iris/results/train-iris/output/model.tar.gz",
    },
}
GUIDE_IRIS_TRANSFORM_CONFIG = {
    "TransformJobName": "test-knn-{{ ds_nodash }}",
    "TransformInput": {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{S3_BUCKET}/iris/processed-input-data/test.csv",
            }
        },
        "SplitType": "Line",
        "ContentType": "text/csv",
    },
    "TransformOutput": {"S3OutputPath": f"s3://{S3_BUCKET}/iris/results"},
    "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    "ModelName": "Iris-KNN",
}
GUIDE_IRIS_DEFAULT_ARGS = {**GUIDE_BATCH_DEFAULT_ARGS, "retries": 0}
GUIDE_DAG_ARGS = {
    "start_date": dt.datetime(2021, 7, 31),
    "max_active_runs": 1,
    "schedule": "@daily",
    "catchup": False,
}
GUIDE_AWS_CONN_ID = "aws-sagemaker"
GUIDE_REGION = "us-east-2"  # the AWS_DEFAULT_REGION the guide sets, and the region of its images

# ---------------------------------------------------------------------------------------------------------
# Rendering as Airflow renders a task's templated fields.

SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
XCOM = {  # what the upstream operators return, with the guide's names
    "train_model": {"Training": {"TrainingJobName": "train-iris"}},
    "create_model": {"Model": {"ModelName": "Iris-KNN"}},
}


CONTEXT = run_context(
    dt.datetime(2021, 7, 31, tzinfo=dt.UTC), xcom=XCOM, params={"k": 3}, ds_nodash="20210731"
)


def render(jinja, value: Any) -> Any:
    return render_all(jinja, value, CONTEXT)


def rendered_kwargs(jinja, compiled: CompiledPipeline, task_id: str) -> dict[str, Any]:
    """The task's arguments after Airflow renders its template_fields (and only those)."""
    task = compiled.task(task_id)
    fields = operator_class(task.operator).template_fields
    return {k: render(jinja, v) if k in fields else v for k, v in task.kwargs.items()}


@pytest.fixture(scope="module")
def compiled():
    from sagemaker_pipelines.format.environment import load_environment

    environment = load_environment("aws")
    assert (environment.bucket, environment.region, environment.aws_conn_id) == (
        S3_BUCKET,
        GUIDE_REGION,
        GUIDE_AWS_CONN_ID,
    )
    results = {
        name: check_file(PIPELINES / f"{name}.yaml", environment)
        for name in ("iris_training", "batch_inference")
    }
    for result in results.values():
        assert result.problems == [], [p.format() for p in result.problems]
    return {name: result.compiled for name, result in results.items()}, environment


def normalise(ours: dict, guide: dict, names: tuple[str, ...], roles: tuple[str, ...], role_arn: str):
    """Check the documented differences, then give ``ours`` the guide's values for them."""
    ours, guide = copy.deepcopy(ours), copy.deepcopy(guide)
    for name in names:
        base = guide[name].split("-{{")[0]
        assert ours[name].startswith(base + "-"), (name, ours[name], base)
        assert SAGEMAKER_NAME.fullmatch(ours[name]) and len(ours[name]) <= 63, ours[name]
        assert ours[name] == f"{base}-20210731T000000-1"  # the run's time and the try: unique per run
        ours[name] = guide[name]
    for role in roles:
        assert guide[role] == ROLE
        assert ours[role] == role_arn
        ours[role] = guide[role]
    return ours, guide


def sdk_tagged(container: dict, guide_container: dict, key: str) -> None:
    """The documented image difference: ours is the guide's untagged URI plus the SDK's ``:1``."""
    assert container[key] == guide_container[key] + ":1", container[key]
    container[key] = guide_container[key]


def test_training_config_equals_the_guide(jinja, compiled):
    pipelines, environment = compiled
    kwargs = rendered_kwargs(jinja, pipelines["iris_training"], "train_model")
    ours, guide = normalise(
        kwargs["config"], GUIDE_TRAINING_CONFIG, ("TrainingJobName",), ("RoleArn",), environment.role_arn
    )
    sdk_tagged(ours["AlgorithmSpecification"], guide["AlgorithmSpecification"], "TrainingImage")
    assert ours == guide
    assert kwargs["aws_conn_id"] == GUIDE_AWS_CONN_ID
    assert kwargs["wait_for_completion"] is True  # as the guide passes it


def test_model_config_equals_the_guide(jinja, compiled):
    pipelines, environment = compiled
    kwargs = rendered_kwargs(jinja, pipelines["iris_training"], "create_model")
    ours, guide = normalise(
        kwargs["config"], GUIDE_MODEL_CONFIG, ("ModelName",), ("ExecutionRoleArn",), environment.role_arn
    )
    sdk_tagged(ours["PrimaryContainer"], guide["PrimaryContainer"], "Image")
    assert ours == guide
    assert kwargs["aws_conn_id"] == GUIDE_AWS_CONN_ID


def test_iris_transform_config_equals_the_guide(jinja, compiled):
    pipelines, _ = compiled
    kwargs = rendered_kwargs(jinja, pipelines["iris_training"], "test_model")
    # ModelName comes from create_model's XCom, which names the model the guide names: no normalising.
    ours, guide = normalise(kwargs["config"], GUIDE_IRIS_TRANSFORM_CONFIG, ("TransformJobName",), (), "")
    assert ours == guide
    assert kwargs["aws_conn_id"] == GUIDE_AWS_CONN_ID


def test_batch_transform_config_equals_the_guide(jinja, compiled):
    pipelines, _ = compiled
    kwargs = rendered_kwargs(jinja, pipelines["batch_inference"], "predict")
    ours, guide = normalise(kwargs["config"], GUIDE_BATCH_TRANSFORM_CONFIG, ("TransformJobName",), (), "")
    assert ours == guide
    assert kwargs["aws_conn_id"] == GUIDE_AWS_CONN_ID


def test_s3_to_redshift_args_equal_the_guide(jinja, compiled):
    pipelines, _ = compiled
    task = pipelines["batch_inference"].task("save_results")
    assert task.kind == "s3_to_redshift"
    ours = rendered_kwargs(jinja, pipelines["batch_inference"], "save_results")
    guide = GUIDE_S3_TO_REDSHIFT_ARGS
    # What the guide leaves out, it gets from the operator's defaults: ours must equal those.
    defaults = {
        name: p.default
        for name, p in inspect.signature(operator_class(task.operator).__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert ours == {**guide, **{k: defaults[k] for k in ours.keys() - guide.keys()}}
    assert set(ours) - set(guide) == {"redshift_conn_id"}


@pytest.mark.parametrize(
    ("name", "default_args", "edges"),
    [
        (
            "iris_training",
            GUIDE_IRIS_DEFAULT_ARGS,
            {
                "data_prep": [],
                "train_model": ["data_prep"],
                "create_model": ["train_model"],
                "test_model": ["create_model"],
            },
        ),
        (
            "batch_inference",
            GUIDE_BATCH_DEFAULT_ARGS,
            {"upload_data": [], "predict": ["upload_data"], "save_results": ["predict"]},
        ),
    ],
)
def test_dag_arguments_and_graph_equal_the_guide(compiled, name, default_args, edges):
    pipeline = compiled[0][name]
    dag = pipeline.dag
    assert dt.datetime.fromisoformat(dag["start_date"]) == GUIDE_DAG_ARGS["start_date"]
    assert {k: dag[k] for k in ("max_active_runs", "schedule", "catchup")} == {
        k: GUIDE_DAG_ARGS[k] for k in ("max_active_runs", "schedule", "catchup")
    }
    expected = {**default_args, "retry_delay": default_args["retry_delay"].total_seconds()}
    assert dag["default_args"] == expected
    assert {t.task_id: t.depends_on for t in pipeline.tasks} == edges
