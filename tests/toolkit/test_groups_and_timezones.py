"""Task groups and time zones in the toolkit: render, graph and compile show the same groups."""

from __future__ import annotations

import shutil

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .test_compile import assert_same_dag, dag_bag

PIPELINE = CHECKOUT_ROOT / "tests" / "airflow_stack" / "pipelines" / "features" / "groups_berlin.yaml"


def test_render_shows_each_tasks_group_and_the_groups(run_cli):
    status, out, _ = run_cli("render", PIPELINE)
    assert status == 0
    assert "    timezone: Europe/Berlin\n" in out
    assert "    start_date: 2026-03-20 (Europe/Berlin: 2026-03-19T23:00:00Z)\n" in out
    assert "    task group training (in models): The training job alone.\n" in out
    assert "    task group models (after data): Train the model and create it.\n" in out
    train = out.split("\ntrain_model  (training -> SageMakerTrainingOperator)\n")[1].split("\n\n")[0]
    assert "    depends on: data_prep\n    task group: training\n" in train + "\n"
    test_model = out.split("\ntest_model  (transform -> SageMakerTransformOperator)\n")[1]
    assert "task group:" not in test_model.split("\n\n")[0]


def test_graph_draws_groups_nested_in_mermaid_and_graphviz(tmp_path, run_cli):
    status, _, _ = run_cli("graph", PIPELINE, "--out", tmp_path)
    assert status == 0
    mmd = (tmp_path / "groups_berlin.mmd").read_text()
    models = mmd.index('    subgraph g_models["models (task group)"]\n')
    training = mmd.index('        subgraph g_training["training (task group)"]\n')
    train = mmd.index('            t_train_model["train_model<br/>training<br/>ml.m5.large"]\n')
    assert models < training < train  # training is drawn inside models, train_model inside training
    assert '    subgraph g_data["data (task group)"]\n        t_data_prep[' in mmd
    assert mmd.count("\n    end\n") == 3 and mmd.count("\n        end\n") == 1  # data, models, legend
    assert "t_data_prep --> t_train_model" in mmd
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    import graphviz  # noqa: F401  (the toolkit's own dependency)

    from sagemaker_pipelines.toolkit.graph import digraph

    source = digraph(check_file(PIPELINE, load_environment("local")).compiled).source
    outer = source.index("subgraph cluster_g_models {")
    inner = source.index("subgraph cluster_g_training {")
    assert outer < inner < source.index("\ttrain_model [", inner)
    svg = (tmp_path / "groups_berlin.svg").read_text()
    assert "models (task group)" in svg and "training (task group)" in svg


def test_compiled_file_builds_the_same_dag_with_its_groups_and_zone(tmp_path, run_cli):
    from sagemaker_pipelines.airflow.dag_builder import build_dag

    out = tmp_path / "out"
    status, _, err = run_cli("compile", PIPELINE, "--out", out, "--env", "local", "--allow-local")
    assert status == 0, err
    source = (out / "groups_berlin.py").read_text()
    assert 'start_date=datetime(2026, 3, 20, tzinfo=Timezone("Europe/Berlin")),' in source
    assert "group_training = TaskGroup(" in source and "parent_group=group_models" in source
    assert "task_group=group_training," in source
    expected = build_dag(check_file(PIPELINE, load_environment("local")).compiled)
    actual = dag_bag(out)["groups_berlin"]
    assert_same_dag(expected, actual)
    assert str(actual.timezone) == "Europe/Berlin"
    for task in expected.tasks:  # assert_same_dag leaves groups out: objects differ by construction
        got = actual.get_task(task.task_id).task_group
        assert (got.group_id, got.tooltip) == (task.task_group.group_id, task.task_group.tooltip)
        want_parent = task.task_group.parent_group
        assert (got.parent_group and got.parent_group.group_id) == (want_parent and want_parent.group_id)


def _readme_block(first: str) -> list[str]:
    from .test_readme import block

    return block(first)


def test_the_readme_dst_example_runs_when_airflow_says(run_cli):
    """The README's Berlin example is the shipped file, and its table is what Airflow's timetable gives."""
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    from sagemaker_pipelines.airflow.dag_builder import build_dag

    example = CHECKOUT_ROOT / "docs" / "examples" / "berlin_mornings.yaml"
    assert _readme_block("# docs/examples/berlin_mornings.yaml") == example.read_text().splitlines()
    status, _, err = run_cli("validate", example)
    assert status == 0, err
    dag = build_dag(check_file(example, load_environment("local")).compiled)
    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable  # as the scheduler has it
    table = _readme_block("06:00 in Europe/Berlin")
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
    lines, last = [table[0]], None
    for _ in range(len(table) - 1):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        local = info.run_after.in_timezone("Europe/Berlin")
        utc = info.run_after.in_timezone("UTC")
        lines.append(f"{local.strftime('%Y-%m-%d %H:%M %Z'):<25}{utc.strftime('%Y-%m-%d %H:%MZ')}")
        last = info.data_interval
    assert lines == table
