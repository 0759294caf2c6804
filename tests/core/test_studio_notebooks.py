"""SageMaker Unified Studio notebooks: the provider's SageMakerNotebookOperator and SageMakerNotebookSensor
as kinds. What a task compiles to is handed to the real operator, and the start request its hook makes
from it is checked by the sagemaker_studio SDK's own request model (the API's types and patterns)."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from sagemaker_pipelines.compile.kinds import KINDS

from .conftest import CORE_DIR

EVERY_KIND = CORE_DIR / "good_inputs" / "every_kind.yaml"
_OPERATORS = "airflow.providers.amazon.aws.operators.sagemaker_unified_studio"
_SENSORS = "airflow.providers.amazon.aws.sensors.sagemaker_unified_studio"


@pytest.fixture(scope="module")
def every_kind(local_env):
    from sagemaker_pipelines.checker import check_file

    result = check_file(EVERY_KIND, local_env)
    assert result.problems == [], [p.format() for p in result.problems]
    return result.compiled


def _classes(module_name: str, base_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {
        name
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module_name and any(b.__name__ == base_name for b in cls.__mro__[1:])
    }


def test_every_unified_studio_operator_and_sensor_of_the_provider_has_a_kind():
    tabled = {kind.operator for kind in KINDS.values()}
    found = {f"{_OPERATORS}.{name}" for name in _classes(_OPERATORS, "BaseOperator")}
    found |= {f"{_SENSORS}.{name}" for name in _classes(_SENSORS, "BaseSensorOperator")}
    assert found == {f"{_OPERATORS}.SageMakerNotebookOperator", f"{_SENSORS}.SageMakerNotebookSensor"}
    # a class is covered by its own row or by a project subclass of it (the sensor's fixed poke)
    classes = {_class(path) for path in tabled}
    assert all(any(issubclass(c, _class(path)) for c in classes) for path in found)


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_provider_sensor_still_needs_the_projects_poke():
    """The provider's sensor pokes through ``get_execution_status``, which its hook lacks, and waits on
    statuses the SDK never answers; the day the hook has it, the project's subclass can go."""
    from airflow.providers.amazon.aws.hooks.sagemaker_unified_studio import SageMakerNotebookHook

    from sagemaker_pipelines.airflow.studio_sensor import SageMakerNotebookSensor

    assert not hasattr(SageMakerNotebookHook, "get_execution_status")
    assert hasattr(SageMakerNotebookHook, "get_notebook_execution")
    assert KINDS["studio_notebook_sensor"].operator == (
        f"{SageMakerNotebookSensor.__module__}.{SageMakerNotebookSensor.__name__}"
    )


def test_a_notebook_task_compiles_to_the_operators_arguments(every_kind):
    task = every_kind.task("iris_report")
    kwargs = {k: v for k, v in task.kwargs.items() if k != "pre_execute"}
    assert kwargs == {
        "input_config": {
            "input_path": "src/iris_report.ipynb",
            "input_params": {"max_depth": "{{ params.max_depth }}", "k": "3"},
        },
        "output_config": {"output_formats": ["NOTEBOOK", "HTML"]},
        "domain_id": "dzd_5ab1c2d3e4f5g6",
        "project_id": "a1b2c3d4e5f6g7",
        "compute": {"instance_type": "ml.m5.xlarge", "image_details": {"image_version": "3"}},
        "termination_condition": {"max_runtime_in_seconds": 3600},
        "tags": {"team": "ml"},
        "wait_for_completion": True,
        "waiter_delay": 1,  # the local environment's check interval
    }
    assert task.depends_on == ["prepare"]


def _start_request(kwargs: dict) -> dict:
    """What the provider's hook hands the SDK's start_execution, built by the hook's own methods (its
    constructor is skipped: it would set up the SDK's clients, which look the project up in DataZone)."""
    from airflow.providers.amazon.aws.hooks.sagemaker_unified_studio import SageMakerNotebookHook

    hook = object.__new__(SageMakerNotebookHook)
    hook.input_config = kwargs["input_config"]
    hook.output_config = kwargs["output_config"]
    request = {
        "execution_name": "iris_report".replace("_", "-"),  # the SDK's own rewrite of the task id
        "execution_type": "NOTEBOOK",
        "input_config": hook._format_start_execution_input_config(),
        "output_config": hook._format_start_execution_output_config(),
        "termination_condition": kwargs.get("termination_condition", {}),
        "tags": kwargs.get("tags", {}),
    }
    if kwargs.get("compute"):
        request["compute"] = kwargs["compute"]
    return request


def test_the_start_request_passes_the_sdks_own_request_model(every_kind):
    from sagemaker_studio._openapi.models import StartExecutionRequest

    request = StartExecutionRequest(**_start_request(every_kind.task("iris_report").kwargs))
    assert request.compute.instance_type == "ml.m5.xlarge"
    assert dict(request.input_config.notebook_config.input_parameters) == {
        "max_depth": "{{ params.max_depth }}",
        "k": "3",
    }


def test_the_sdks_request_model_is_a_real_check():
    """The check above can fail: the SDK's model refuses an instance type notebooks cannot use."""
    from sagemaker_studio._openapi.exceptions import ApiValueError
    from sagemaker_studio._openapi.models import StartExecutionRequest

    request = {
        "execution_name": "report",
        "input_config": {"notebook_config": {"input_path": "src/a.ipynb"}},
        "compute": {"instance_type": "ml.m5.large-ish"},
    }
    with pytest.raises(ApiValueError):
        StartExecutionRequest(**request)


def test_the_real_operator_and_sensor_take_the_compiled_arguments(every_kind):
    from sagemaker_pipelines.airflow.jobs.studio import SageMakerNotebookOperator
    from sagemaker_pipelines.airflow.studio_sensor import SageMakerNotebookSensor

    def plain(kwargs: dict) -> dict:
        return {k: v for k, v in kwargs.items() if k != "pre_execute"}

    kwargs = plain(every_kind.task("iris_report").kwargs)
    operator = SageMakerNotebookOperator(task_id="iris_report", **kwargs)
    assert operator.execution_name == "iris_report"
    assert operator.compute["image_details"] == {"image_version": "3"}
    assert operator.waiter_delay == 1
    sensor = SageMakerNotebookSensor(task_id="watch_report", **plain(every_kind.task("watch_report").kwargs))
    assert sensor.execution_id == "iris-report-2a6f9e0c-1d7b-4c55-9f1e-0c2b5d8e7a61"
    assert sensor.execution_name == "watch_report" and sensor.poke_interval == 1


def test_compute_without_an_instance_type_gets_the_sdks_default(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          report: {kind: studio_notebook, notebook: shared/report.ipynb, image_version: latest}
          plain: {kind: studio_notebook, notebook: shared/report.ipynb}
        """
    )
    # The SDK reads compute["instance_type"] whenever compute is given, so it is never left out then.
    assert compiled.task("report").kwargs["compute"] == {
        "instance_type": "ml.m6i.xlarge",
        "image_details": {"image_version": "latest"},
    }
    assert "compute" not in compiled.task("plain").kwargs  # the SDK picks the instance itself


def test_the_output_location_is_read_from_the_key_the_hook_pushes(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          report: {kind: studio_notebook, notebook: src/report.ipynb}
          use:
            kind: python
            callable: include/iris_data.py:prepare_iris
            arguments: {data_url: "${tasks.report.s3_path}", input_uri: "s3://my-bucket/x", aws_conn_id: a}
        """
    )
    use = compiled.task("use")
    pulled = "{{ ti.xcom_pull(task_ids='report', key='s3_path') }}"
    assert use.kwargs["op_kwargs"]["arguments"]["data_url"] == pulled
    assert use.depends_on == ["report"]


def test_in_the_local_environment_the_sdks_own_endpoints_must_be_loopback_too(every_kind, monkeypatch):
    """The SDK ignores the AWS connection: with DataZoneEndpoint unset it would call DataZone in AWS.
    The guard Airflow runs before the task (the one the DAG builder attached) refuses that."""
    from airflow.sdk.exceptions import AirflowFailException

    from sagemaker_pipelines.airflow.dag_builder import build_dag

    dag = build_dag(every_kind)
    connection = {"conn_type": "aws", "extra": {"endpoint_url": "http://127.0.0.1:4566"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL", json.dumps(connection))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.delenv("DataZoneEndpoint", raising=False)
    for task_id in ("iris_report", "watch_report"):
        task = dag.get_task(task_id)
        with pytest.raises(AirflowFailException, match="its SDK's DataZoneEndpoint is not set"):
            task._pre_execute_hook({"task": task})
    monkeypatch.setenv("DataZoneEndpoint", "https://datazone.us-east-2.api.aws")
    with pytest.raises(AirflowFailException, match="DataZoneEndpoint is https://datazone"):
        task._pre_execute_hook({"task": task})
    monkeypatch.setenv("DataZoneEndpoint", "http://127.0.0.1:4566")
    task._pre_execute_hook({"task": task})  # both on this machine: allowed
    train = dag.get_task("train")
    monkeypatch.delenv("DataZoneEndpoint")
    train._pre_execute_hook({"task": train})  # other operators use the connection only
