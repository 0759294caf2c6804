"""``teardown: true``: a clean-up task becomes an Airflow teardown of the tasks it cleans up after."""

from __future__ import annotations

from sagemaker_pipelines.airflow.dag_builder import build_dag

PIPELINE = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
  create_model:
    kind: model
    from: train
  score:
    kind: transform
    model: create_model
    input: s3://my-bucket/in/
    output: s3://my-bucket/out/
  report:
    kind: python
    callable: include/iris_data.py:prepare_iris
    depends_on: [score]
    teardown: true
    arguments: {model: "${tasks.create_model.name}"}
"""


def test_a_teardown_compiles_with_its_setups(compile_ok):
    compiled = compile_ok(PIPELINE)
    report = compiled.task("report")
    assert report.teardown is True
    assert report.depends_on == ["score", "create_model"]
    assert report.setups == ["create_model"]  # whose output it reads; depends_on only orders it
    assert not any(t.teardown for t in compiled.tasks if t.task_id != "report")


def test_the_built_dag_has_airflows_setup_and_teardown(compile_ok):
    dag = build_dag(compile_ok(PIPELINE))
    report, model = dag.get_task("report"), dag.get_task("create_model")
    assert report.is_teardown and not report.is_setup
    assert model.is_setup and not dag.get_task("score").is_setup
    assert report.trigger_rule == "all_done_setup_success"
    assert report.upstream_task_ids == {"score", "create_model"}


def test_a_teardown_without_setups_runs_when_all_is_done(compile_ok):
    text = PIPELINE.replace('    arguments: {model: "${tasks.create_model.name}"}\n', "")
    dag = build_dag(compile_ok(text))
    assert dag.get_task("report").is_teardown
    assert not any(dag.get_task(t).is_setup for t in ("train", "create_model", "score"))


def test_a_teardown_takes_no_trigger_rule(check):
    result = check(PIPELINE + "    trigger_rule: all_done\n")
    assert [(p.field, p.code) for p in result.problems] == [("tasks.report.trigger_rule", "semantics")]
    assert "takes no trigger_rule" in result.problems[0].message


def test_teardown_is_a_boolean(check):
    result = check(PIPELINE.replace("teardown: true", "teardown: yes please"))
    assert [p.field for p in result.problems] == ["tasks.report.teardown"]
