"""``kind: operator``: a class the environment's allowed_operators lists, checked against its signature;
anything else refused by name without an import, at validate and at build time; and no user data can
become one of the compiled markers that the DAG builder turns into project callables."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.compile.allowed_operators import OperatorNotAllowed, signature_of

S3 = "airflow.providers.amazon.aws.operators.s3."
CREATE = S3 + "S3CreateObjectOperator"


def _check(text: str, environment):
    return check_text(textwrap.dedent(text), Path("pipelines/ops.yaml"), environment)


def _one_task(operator: str, arguments: str = "{}", extra: str = "") -> str:
    return f"""\
start_date: 2024-01-01
params:
  name: {{type: string, default: report}}
tasks:
  first:
    kind: python
    callable: include/iris_data.py:prepare_iris
    arguments: {{}}
  op:
    kind: operator
    operator: {operator}
    depends_on: [first]
    arguments: {arguments}
{extra}"""


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A module whose import writes a file: proof of whether anything imported it."""
    name = f"operator_probe_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported"
    (tmp_path / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "from airflow.sdk import BaseOperator\n\nclass Probe(BaseOperator):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


def test_an_allowed_class_compiles_with_its_arguments_and_the_pipeline_connection(local_env, aws_env):
    for environment in (local_env, aws_env):
        args = '{s3_bucket: "${s3.bucket}", s3_key: "out/${params.name}.txt", data: hello, replace: true}'
        result = _check(_one_task(CREATE, args), environment)
        assert result.problems == []
        task = result.compiled.task("op")
        assert (task.kind, task.operator) == ("operator", CREATE)
        assert task.kwargs["s3_key"] == "out/{{ params.name }}.txt"
        assert task.kwargs["aws_conn_id"] == environment.aws_conn_id
        assert task.depends_on == ["first"]
        built = build_dag(result.compiled, environment=environment).get_task("op")
        assert type(built).__name__ == "S3CreateObjectOperator"
        assert (built.s3_key, built.replace, built.aws_conn_id) == (
            "out/{{ params.name }}.txt",
            True,
            environment.aws_conn_id,
        )


def test_a_class_not_on_the_list_is_refused_at_its_line_without_being_imported(local_env, probe):
    name, marker = probe
    result = _check(_one_task(f"{name}.Probe"), local_env)
    [problem] = result.problems
    assert (problem.line, problem.column, problem.field) == (11, 15, "tasks.op.operator")
    assert "not allowed in environment 'local'" in problem.message
    assert "environments/local.yaml (allowed_operators)" in problem.message
    assert problem.hint.startswith("allowed: " + CREATE)
    assert name not in sys.modules and not marker.exists()


def test_a_listed_class_is_imported_by_validate(local_env, probe):
    name, marker = probe
    environment = dataclasses.replace(local_env, allowed_operators=(f"{name}.Probe",))
    assert _check(_one_task(f"{name}.Probe"), environment).problems == []
    assert marker.exists()  # the counter-proof: the probe does show an import


def test_a_listed_class_that_cannot_be_imported_is_a_problem_not_a_traceback(local_env):
    environment = dataclasses.replace(local_env, allowed_operators=("no_such_provider_xyz.ops.Op",))
    [problem] = _check(_one_task("no_such_provider_xyz.ops.Op"), environment).problems
    assert problem.field == "tasks.op.operator"
    assert "cannot be imported: ModuleNotFoundError" in problem.message


def test_a_listed_name_that_is_not_an_operator_is_refused(local_env):
    environment = dataclasses.replace(local_env, allowed_operators=("pathlib.Path",))
    [problem] = _check(_one_task("pathlib.Path"), environment).problems
    assert "not an Airflow operator" in problem.message


@pytest.mark.parametrize(
    ("arguments", "field", "message", "hint"),
    [
        (
            "{s3_key: a, data: b, replase: true}",
            "replase",
            "has no argument 'replase'",
            "did you mean 'replace'?",
        ),
        ("{s3_key: a}", "", "S3CreateObjectOperator needs: data", ""),
        ("{s3_key: a, data: b, task_id: x}", "task_id", "it is the task's key under tasks:", ""),
        ("{s3_key: a, data: b, trigger_rule: all_done}", "trigger_rule", "the task field trigger_rule", ""),
        ("{s3_key: a, data: b, pre_execute: x}", "pre_execute", "an Airflow task setting", ""),
        ("{s3_key: a, data: b, queue: x}", "queue", "an Airflow task setting", ""),
        ("{s3_key: a, data: b, python_callable: os.system}", "python_callable", "code to import or run", ""),
        ("{s3_key: a, data: b, execution_date_fn: os.system}", "execution_date_fn", "code to import", ""),
        ("{s3_key: a, data: b, on_retry_callback_file: /x.py}", "on_retry_callback_file", "code to", ""),
        ("{s3_key: a, data: b, encrypt: '${params.name}'}", "encrypt", "does not render 'encrypt'", "s3_key"),
        ("{s3_key: a, data: b, acl_policy: '{{ ds }}'}", "acl_policy", "does not render", "template_fields"),
    ],
)
def test_arguments_are_checked_against_the_signature(local_env, arguments, field, message, hint):
    [problem] = _check(_one_task(CREATE, arguments), local_env).problems
    assert problem.field == "tasks.op.arguments" + (f".{field}" if field else "")
    assert message in problem.message and hint in problem.hint
    assert problem.code == "operator"


def test_task_outputs_only_in_template_fields(local_env):
    text = _one_task(CREATE, '{s3_key: "${tasks.first.result}", data: b}')
    assert _check(text, local_env).problems == []
    [problem] = _check(
        _one_task(CREATE, '{s3_key: a, data: b, encoding: "${tasks.first.result}"}'), local_env
    ).problems
    assert problem.field == "tasks.op.arguments.encoding"
    assert "does not render 'encoding'" in problem.message


def test_the_signature_walks_the_mro_up_to_base_operator():
    from airflow.providers.amazon.aws.operators.s3 import S3CopyObjectOperator

    signature = signature_of(S3CopyObjectOperator)
    assert {
        "source_bucket_key",
        "dest_bucket_key",
        "aws_conn_id",
        "region_name",
        "verify",
    } <= signature.accepted
    assert set(signature.required) == {"source_bucket_key", "dest_bucket_key"}
    assert {"task_id", "retries", "on_failure_callback"} <= signature.base
    assert not signature.base & signature.accepted


def test_the_builder_checks_the_list_again_for_cached_compiled_data(local_env, probe):
    result = _check(_one_task(CREATE, "{s3_key: a, data: b}"), local_env)
    narrower = dataclasses.replace(local_env, allowed_operators=(S3 + "S3CopyObjectOperator",))
    with pytest.raises(OperatorNotAllowed, match="S3CreateObjectOperator' is not in the allowed_operators"):
        build_dag(result.compiled, environment=narrower)
    name, marker = probe  # compiled data naming a class the list never had: refused before any import
    task = result.compiled.task("op")
    forged = dataclasses.replace(
        result.compiled,
        tasks=[dataclasses.replace(task, operator=f"{name}.Probe"), result.compiled.task("first")],
    )
    with pytest.raises(OperatorNotAllowed):
        build_dag(forged, environment=local_env)
    assert name not in sys.modules and not marker.exists()
    smuggled = dataclasses.replace(task, kwargs={**task.kwargs, "python_callable": "os.system"})
    with pytest.raises(OperatorNotAllowed, match="python_callable"):
        build_dag(dataclasses.replace(result.compiled, tasks=[smuggled]), environment=local_env)


MARKER = {"__callable__": "sagemaker_pipelines.airflow.tasks.call_include"}
MARKER_CALL = {
    "__callable__": "sagemaker_pipelines.airflow.tasks.LoopbackOnly",
    "__kwargs__": {"environment": "x"},
}


def test_user_data_never_becomes_a_project_callable(local_env):
    """Marker-shaped dicts in a config escape hatch, hyperparameters, python arguments or operator
    arguments stay plain dicts in the built operators (before this, the builder called the second)."""
    text = """\
    start_date: 2024-01-01
    tasks:
      prep:
        kind: python
        callable: include/iris_data.py:prepare_iris
        arguments:
          hook: {__callable__: sagemaker_pipelines.airflow.tasks.LoopbackOnly, __kwargs__: {environment: x}}
      train:
        kind: training
        algorithm: knn
        hyperparameters: {k: 3, feature_dim: 4, predictor_type: classifier, sample_size: 100}
        inputs: {train: "s3://my-bucket/iris/train.csv"}
        config:
          Environment: {__callable__: sagemaker_pipelines.airflow.tasks.call_include}
      put:
        kind: operator
        operator: airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator
        arguments: {s3_key: a, data: {__callable__: sagemaker_pipelines.airflow.tasks.call_include}}
    """
    result = _check(text, local_env)
    compiled = result.compiled
    assert compiled is not None, [p.format() for p in result.problems]
    dag = build_dag(compiled, environment=local_env)
    assert dag.get_task("prep").op_kwargs["arguments"]["hook"] == MARKER_CALL
    assert dag.get_task("train").config["Environment"] == MARKER
    assert dag.get_task("put").data == MARKER
    assert callable(dag.get_task("put").pre_execute)  # the compiler's own marker still works


def test_compile_writes_user_marker_shaped_data_as_dicts(local_env):
    from sagemaker_pipelines.toolkit.pycompile import python_source

    text = _one_task(
        CREATE, "{s3_key: a, data: {__callable__: sagemaker_pipelines.airflow.tasks.call_include}}"
    )
    source = python_source(_check(text, local_env).compiled)
    assert "'__callable__': 'sagemaker_pipelines.airflow.tasks.call_include'" in source
    assert "pre_execute=LoopbackOnly(" in source
