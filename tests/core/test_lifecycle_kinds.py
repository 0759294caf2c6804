"""The kinds beyond the guide's: model registry, deletes, AutoML, SageMaker Pipelines, experiments, notebook
instances, quality gates and the processing sensor - what each compiles to, and what is refused."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.request_check import check_request

from .conftest import CORE_DIR

EVERY_KIND = CORE_DIR / "good_inputs" / "every_kind.yaml"

# Every operator and sensor of the provider's sagemaker modules has a kind.
PROVIDER = {
    "SageMakerProcessingOperator": "processing",
    "SageMakerEndpointConfigOperator": "endpoint_config",
    "SageMakerEndpointOperator": "endpoint",
    "SageMakerTransformOperator": "transform",
    "SageMakerTuningOperator": "tuning",
    "SageMakerModelOperator": "model",
    "SageMakerTrainingOperator": "training",
    "SageMakerDeleteModelOperator": "delete_model",
    "SageMakerStartPipelineOperator": "start_pipeline",
    "SageMakerStopPipelineOperator": "stop_pipeline",
    "SageMakerRegisterModelVersionOperator": "register_model",
    "SageMakerAutoMLOperator": "automl",
    "SageMakerCreateExperimentOperator": "experiment",
    "SageMakerCreateNotebookOperator": "notebook",
    "SageMakerStopNotebookOperator": "stop_notebook",
    "SageMakerDeleteNotebookOperator": "delete_notebook",
    "SageMakerStartNoteBookOperator": "start_notebook",
    "SageMakerConditionOperator": "condition",
    "SageMakerEndpointSensor": "endpoint_sensor",
    "SageMakerTransformSensor": "transform_sensor",
    "SageMakerTuningSensor": "tuning_sensor",
    "SageMakerTrainingSensor": "training_sensor",
    "SageMakerPipelineSensor": "pipeline_sensor",
    "SageMakerAutoMLSensor": "automl_sensor",
    "SageMakerProcessingSensor": "processing_sensor",
}


def test_every_sagemaker_operator_and_sensor_of_the_provider_has_a_kind():
    import inspect

    from airflow.providers.amazon.aws.operators import sagemaker as operators
    from airflow.providers.amazon.aws.sensors import sagemaker as sensors

    found = set()
    for module in (operators, sensors):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and name.startswith("SageMaker") and "Base" not in name:
                found.add(name)
    assert found == set(PROVIDER)
    by_operator = {kind.operator.rpartition(".")[2]: name for name, kind in KINDS.items()}
    assert {name: by_operator.get(name) for name in PROVIDER} == PROVIDER


@pytest.fixture(scope="module")
def every_kind(local_env):
    from sagemaker_pipelines.checker import check_file

    result = check_file(EVERY_KIND, local_env)
    assert result.problems == [], [p.format() for p in result.problems]
    return result.compiled


def test_register_model_sends_the_version_of_a_training_task(every_kind):
    register = every_kind.task("register")
    assert register.kwargs["package_group_name"] == "every-kind"
    assert register.kwargs["image_uri"].endswith("/sagemaker-xgboost:1.7-1")
    assert register.kwargs["model_url"] == (
        "s3://sagemaker-local/every-kind/out/models/"
        "{{ ti.xcom_pull(task_ids='train')['Training']['TrainingJobName'] }}/output/model.tar.gz"
    )
    assert register.kwargs["extras"] == {"ModelApprovalStatus": "Approved"}  # the enum argument untouched
    request = KINDS["register_model"].request_of(register.kwargs)
    assert request["ModelApprovalStatus"] == "Approved"
    assert check_request("CreateModelPackage", request) == []
    assert register.depends_on == ["watch_training", "train", "gate"]


def test_a_model_can_serve_a_registered_version(every_kind):
    container = every_kind.task("registered_model").kwargs["config"]["PrimaryContainer"]
    assert container["ModelPackageName"] == "{{ ti.xcom_pull(task_ids='register') }}"
    assert every_kind.task("registered_model").depends_on == ["register"]


def test_delete_model_names_a_model_task_or_a_model(every_kind, compile_ok):
    config = every_kind.task("retire_model").kwargs["config"]
    assert config == {"ModelName": "{{ ti.xcom_pull(task_ids='best_model')['Model']['ModelName'] }}"}
    compiled = compile_ok(
        "start_date: 2024-01-01\ntasks:\n  d: {kind: delete_model, model_name: old-model}\n"
    )
    assert compiled.task("d").kwargs["config"] == {"ModelName": "old-model"}


def test_condition_compiles_to_the_providers_conditions_and_branches(every_kind):
    gate = every_kind.task("gate")
    assert gate.kwargs["if_task_ids"] == ["register"] and gate.kwargs["else_task_ids"] == ["retire_model"]
    first, either, negated = gate.kwargs["conditions"]
    assert first["type"] == "GreaterThanOrEqualTo" and first["right_value"] == 0.8
    assert "selectattr('MetricName', 'equalto', 'validation:auc')" in first["left_value"]
    assert either["type"] == "Or" and [c["type"] for c in either["conditions"]] == ["In", "GreaterThan"]
    assert either["conditions"][0] == {
        "type": "In",
        "value": "{{ params.max_depth }}",
        "in_values": [3, 5, 7],
    }
    assert negated["type"] == "Not" and negated["condition"]["type"] == "Equals"
    assert set(gate.depends_on) == {"train", "tune", "experiment"}  # whose outputs it compares
    assert "gate" in every_kind.task("retire_model").depends_on  # the gate is upstream of its branches


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("!=", {"type": "Not", "condition": {"type": "Equals", "left_value": 1, "right_value": 2}}),
        ("not_in", {"type": "Not", "condition": {"type": "In", "value": 1, "in_values": [2]}}),
        ("<", {"type": "LessThan", "left_value": 1, "right_value": 2}),
        ("<=", {"type": "LessThanOrEqualTo", "left_value": 1, "right_value": 2}),
    ],
)
def test_every_comparison_has_a_provider_form(op, expected):
    from sagemaker_pipelines.compile.kinds.gates import condition_of

    right = [2] if op == "not_in" else 2
    assert condition_of({"left": 1, "op": op, "right": right}) == expected


def test_a_gate_without_else_has_no_else_branch(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        params: {min_rows: {type: integer, default: 100}}
        tasks:
          count:
            kind: python
            callable: include/iris_data.py:prepare_iris
          gate:
            kind: condition
            conditions: [{left: "${tasks.count.result.rows}", op: ">=", right: "${params.min_rows}"}]
            if: [use]
          use:
            kind: python
            callable: include/iris_data.py:prepare_iris
        """
    )
    assert "else_task_ids" not in compiled.task("gate").kwargs
    assert compiled.task("use").depends_on == ["gate"]
    assert compiled.task("gate").depends_on == ["count"]


def test_automl_and_its_sensor_name_the_same_job(every_kind):
    automl, sensor = every_kind.task("autopilot"), every_kind.task("watch_autopilot")
    assert (
        automl.kwargs["job_name"]
        == sensor.kwargs["job_name"]
        == "every-kind-autop-{{ dag_run.run_after | ts_nodash }}"
    )
    assert automl.kwargs["extras"]["AutoMLJobConfig"]["CompletionCriteria"] == {
        "MaxCandidates": 3,
        "MaxAutoMLJobRuntimeInSeconds": 3600,
    }
    request = KINDS["automl"].request_of(automl.kwargs)
    assert request["InputDataConfig"][0]["TargetAttributeName"] == "species"
    assert check_request("CreateAutoMLJob", request) == []


def test_pipeline_start_stop_and_sensor_share_the_execution(every_kind):
    start = every_kind.task("run_pipeline")
    assert start.kwargs["pipeline_params"] == {
        "MaxDepth": "{{ params.max_depth }}",
        "TrainData": "s3://sagemaker-local/every-kind/data/train.csv",
    }
    arn = "{{ ti.xcom_pull(task_ids='run_pipeline') }}"
    assert every_kind.task("watch_pipeline").kwargs["pipeline_exec_arn"] == arn
    assert every_kind.task("stop_run").kwargs["pipeline_exec_arn"] == arn
    request = KINDS["start_pipeline"].request_of(start.kwargs)
    assert request["PipelineParameters"][0] == {"Name": "MaxDepth", "Value": "{{ params.max_depth }}"}


def test_notebook_actions_name_the_notebook_tasks_instance(every_kind):
    assert every_kind.task("explore").kwargs["instance_name"] == "every-kind-explore"
    for task_id in ("pause_explore", "resume_explore", "remove_explore", "stop_explore"):
        assert every_kind.task(task_id).kwargs["instance_name"] == "every-kind-explore", task_id
    request = KINDS["notebook"].request_of(every_kind.task("explore").kwargs)
    assert request == {
        "NotebookInstanceName": "every-kind-explore",
        "InstanceType": "ml.t3.medium",
        "RoleArn": "arn:aws:iam::123456789012:role/sagemaker-local",
        "VolumeSizeInGB": 10,
        "DirectInternetAccess": "Disabled",
    }


def test_experiment_name_is_per_run_and_try_and_readable_by_later_tasks(every_kind, compile_ok):
    assert (
        every_kind.task("experiment").kwargs["name"]
        == "every-kind-{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}"
    )
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          exp: {kind: experiment, name: iris}
          train:
            kind: training
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
            config: {ExperimentConfig: {ExperimentName: "${tasks.exp.name}", TrialName: "daily"}}
        """
    )
    name = compiled.task("train").kwargs["config"]["ExperimentConfig"]["ExperimentName"]
    assert name == "{{ ('iris-' ~ (ti.xcom_pull(task_ids='exp').split('/')[-1][5:] | upper)) }}"
    assert compiled.task("train").depends_on == ["exp"]


def test_the_register_operators_extras_are_not_rendered(check):
    result = check(
        """\
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
          register:
            kind: register_model
            from: train
            group: iris
            config: {CustomerMetadataProperties: {job: "${tasks.train.job_name}"}}
        """
    )
    assert [p.field for p in result.problems] == ["tasks.register.config.CustomerMetadataProperties.job"]
    assert "SageMakerRegisterModelVersionOperator does not render this field" in result.problems[0].message


def test_every_kind_renders(every_kind):
    from sagemaker_pipelines.toolkit.render import render_text

    text = render_text(every_kind)
    for task in every_kind.tasks:
        assert f"{task.task_id}  ({task.kind} -> {task.operator.rpartition('.')[2]})" in text
    assert {t.kind for t in every_kind.tasks} == set(KINDS)  # every kind of the table, once at least
    assert "teardown of: registered_model" in text
