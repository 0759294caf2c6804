"""Task groups and a pipeline time zone: compiled data, the built DAG, validate's problems."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag, parse_date
from sagemaker_pipelines.cache import entry as cache_entry
from sagemaker_pipelines.checker import CheckResult

GROUPED = """\
start_date: 2024-01-01
task_groups:
  data: {doc: Fetch and split.}
  models: {doc: Train and package.}
  training: {parent: models}
tasks:
  fetch:
    kind: python
    task_group: data
    callable: include/iris_data.py:prepare_iris
  split:
    kind: python
    task_group: data
    callable: include/iris_data.py:prepare_iris
  check:
    kind: python
    task_group: data
    callable: include/iris_data.py:prepare_iris
    depends_on: [fetch]
  train:
    kind: training
    task_group: training
    depends_on: [data]
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
  package:
    kind: model
    task_group: models
    depends_on: [training]
    from: train
  score:
    kind: transform
    depends_on: [models]
    model: package
    input: s3://my-bucket/in/
    output: s3://my-bucket/out/
"""


def test_depending_on_a_group_compiles_to_its_leaves(compile_ok):
    compiled = compile_ok(GROUPED)
    groups = {t.task_id: t.task_group for t in compiled.tasks}
    assert groups == {
        "fetch": "data",
        "split": "data",
        "check": "data",
        "train": "training",
        "package": "models",
        "score": "",
    }
    # data's leaves: split and check (fetch is waited for by check, inside the group)
    assert compiled.task("train").depends_on == ["split", "check"]
    # a member of models waiting for the nested group training: an edge inside models
    assert compiled.task("package").depends_on == ["train"]
    assert compiled.task("score").depends_on == ["package"]
    assert compiled.task_groups == {
        "data": {"doc": "Fetch and split.", "parent": None, "depends_on": []},
        "models": {"doc": "Train and package.", "parent": None, "depends_on": []},
        "training": {"doc": None, "parent": "models", "depends_on": []},
    }


def test_the_dag_has_real_task_groups_with_unprefixed_task_ids(compile_ok):
    dag = build_dag(compile_ok(GROUPED))
    assert set(dag.task_ids) == {"fetch", "split", "check", "train", "package", "score"}
    groups = dag.task_group.get_task_group_dict()
    assert set(groups) == {None, "data", "models", "training"}
    assert list(groups["data"].children) == ["fetch", "split", "check"]
    assert list(groups["models"].children) == ["training", "package"]
    assert groups["training"].parent_group.group_id == "models"
    assert groups["data"].tooltip == "Fetch and split."
    assert not any(g.prefix_group_id for name, g in groups.items() if name)
    assert dag.get_task("train").upstream_task_ids == {"split", "check"}
    assert dag.get_task("check").upstream_task_ids == {"fetch"}
    assert dag.get_task("score").upstream_task_ids == {"package"}
    # Airflow's own meaning of "group >> task" is the same set of tasks
    assert {t.task_id for t in groups["data"].get_leaves()} == {"split", "check"}


def test_without_a_groups_map_each_name_is_a_top_level_group(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          fetch: {kind: python, task_group: data, callable: "include/iris_data.py:prepare_iris"}
          train:
            kind: training
            depends_on: [data]
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
        """
    )
    assert compiled.task_groups == {"data": {"doc": None, "parent": None, "depends_on": []}}
    assert compiled.task("train").depends_on == ["fetch"]
    assert build_dag(compiled).get_task("fetch").task_group.group_id == "data"


def test_a_pipeline_without_groups_compiles_as_before(compile_ok):
    compiled = compile_ok(
        GROUPED.split("task_groups:")[0]
        + "tasks:\n  a: {kind: python, callable: 'include/iris_data.py:prepare_iris'}\n"
    )
    assert compiled.task_groups == {} and compiled.task("a").task_group == ""


def test_cache_entries_keep_groups_and_refuse_a_wrong_shape(compile_ok):
    compiled = compile_ok(GROUPED)
    result = CheckResult(compiled.file, compiled.dag_id, [], compiled, (1, 1), [])
    data = cache_entry.encode("key", result, {}, b"secret")
    decoded, _ = cache_entry.decode("key", data, b"secret")
    assert decoded.compiled.task_groups == compiled.task_groups
    assert decoded.compiled.task("train").task_group == "training"
    broken = compiled.as_dict()
    broken["task_groups"] = {"data": {"doc": 3, "parent": None}}
    assert not cache_entry._pipeline_shaped(broken)


BERLIN = """\
schedule: "0 6 * * *"
timezone: Europe/Berlin
start_date: 2026-03-20
end_date: 2026-12-31T23:00:00+00:00
tasks:
  fetch: {kind: python, callable: "include/iris_data.py:prepare_iris"}
"""


def test_a_time_zone_places_dates_and_the_cron_schedule_in_it(compile_ok):
    dag = build_dag(compile_ok(BERLIN))
    assert str(dag.timezone) == "Europe/Berlin"
    assert dag.start_date == dt.datetime(2026, 3, 19, 23, tzinfo=dt.UTC)  # 00:00 Berlin (UTC+1)
    assert dag.end_date == dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC)  # an offset: the same instant
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable  # as the scheduler has it
    assert timetable.serialize()["timezone"] == "Europe/Berlin"

    runs, last = [], None
    restriction = TimeRestriction(
        earliest=pendulum.datetime(2026, 3, 27, tz="UTC"), latest=None, catchup=True
    )
    for _ in range(4):  # Europe/Berlin moves to summer time on 2026-03-29
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        runs.append(info.run_after.in_timezone("UTC").isoformat())
        last = info.data_interval
    assert runs == [
        "2026-03-27T05:00:00+00:00",
        "2026-03-28T05:00:00+00:00",
        "2026-03-29T04:00:00+00:00",
        "2026-03-30T04:00:00+00:00",
    ]


def test_dates_with_an_offset_are_converted_into_the_zone():
    value = parse_date("2026-07-01T12:00:00Z", "Europe/Berlin")
    assert (value.hour, str(value.tzinfo)) == (14, "Europe/Berlin")
    assert parse_date("2026-07-01", "America/New_York").utcoffset() == dt.timedelta(hours=-4)
    assert parse_date("2026-07-01") == dt.datetime(2026, 7, 1, tzinfo=dt.UTC)  # no zone: UTC, as before


@pytest.mark.parametrize(
    ("name", "hint"),
    [("Europe/Berln", "did you mean 'Europe/Berlin'?"), ("europe/berlin", "did you mean 'Europe/Berlin'?")],
)
def test_an_unknown_time_zone_is_a_problem_with_the_nearest_name(check, name, hint):
    result = check(BERLIN.replace("Europe/Berlin", name))
    assert [(p.field, p.line, p.column, p.hint) for p in result.problems] == [("timezone", 2, 11, hint)]


def test_an_unknown_group_says_what_is_known(check):
    text = GROUPED.replace("task_group: models\n", "task_group: modls\n")
    problems = check(text).problems
    assert [(p.field, p.message, p.hint) for p in problems] == [
        ("tasks.package.task_group", "unknown task group 'modls'", "did you mean 'models'?")
    ]


def test_a_teardown_in_a_group_is_not_one_of_its_leaves(compile_ok):
    """As in Airflow's get_leaves, waiting for a group is waiting for its work, not for its clean-up."""
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            task_group: work
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
          package: {kind: model, task_group: work, from: train}
          clean_up: {kind: delete_model, task_group: work, model: package, teardown: true}
          report:
            kind: python
            depends_on: [work]
            callable: include/iris_data.py:prepare_iris
        """
    )
    assert compiled.task("report").depends_on == ["package"]  # not the teardown
    dag = build_dag(compiled)
    assert dag.get_task("report").upstream_task_ids == {"package"}
    assert dag.get_task("clean_up").is_teardown and dag.get_task("clean_up").task_group.group_id == "work"


def test_end_before_start_compares_instants_in_the_zone(check):
    # midnight in Berlin is 23:00 UTC the day before: an end at 23:30Z is after the start
    fine = BERLIN.replace("end_date: 2026-12-31T23:00:00+00:00", "end_date: 2026-03-19T23:30:00Z")
    assert check(fine).problems == []
    early = BERLIN.replace("end_date: 2026-12-31T23:00:00+00:00", "end_date: 2026-03-19T22:30:00Z")
    assert [p.message for p in check(early).problems] == ["end_date is before start_date"]


def test_a_group_that_depends_on_something_makes_its_first_tasks_wait(compile_ok):
    compiled = compile_ok(
        """\
        start_date: 2024-01-01
        task_groups:
          data: {}
          models: {depends_on: [data]}
          training: {parent: models}
        tasks:
          fetch: {kind: python, task_group: data, callable: "include/iris_data.py:prepare_iris"}
          train:
            kind: training
            task_group: training
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
          tune:
            kind: training
            task_group: models
            algorithm: knn
            inputs: {train: "s3://my-bucket/iris/train.csv"}
          package: {kind: model, task_group: models, from: train}
        """
    )
    # models' roots: train (in the nested group) and tune; package waits for train inside the group
    assert compiled.task("train").depends_on == ["fetch"]
    assert compiled.task("tune").depends_on == ["fetch"]
    assert compiled.task("package").depends_on == ["train"]
    assert compiled.task_groups["models"]["depends_on"] == ["data"]
    dag = build_dag(compiled)
    assert dag.get_task("tune").upstream_task_ids == {"fetch"}


def test_random_grouped_pipelines_agree_with_airflows_own_leaves_and_roots(check):
    """Random groups, nesting and dependencies (a fixed sample): whatever validate accepts builds, and
    each edge to or from a group is what Airflow's TaskGroup.get_leaves/get_roots say it means."""
    import random

    import yaml

    rng = random.Random(3)
    names, group_names = ["a", "b", "c", "d", "e"], ["g1", "g2", "g3"]
    built = 0
    for _ in range(800):
        groups = {}
        for name in group_names:
            groups[name] = {}
            if rng.random() < 0.4:
                groups[name]["parent"] = rng.choice(group_names)
            if rng.random() < 0.4:
                groups[name]["depends_on"] = rng.sample(names + group_names, rng.randint(1, 2))
        tasks = {}
        for name in names:
            tasks[name] = {"kind": "python", "callable": "include/iris_data.py:prepare_iris"}
            if rng.random() < 0.7:
                tasks[name]["task_group"] = rng.choice(group_names)
            if rng.random() < 0.5:
                tasks[name]["depends_on"] = rng.sample(names + group_names, rng.randint(1, 2))
        data = {"start_date": "2024-01-01", "task_groups": groups, "tasks": tasks}
        result = check(yaml.safe_dump(data))
        assert not any(p.code == "internal" for p in result.problems)
        if result.compiled is None:
            continue
        dag = build_dag(result.compiled)
        built += 1
        airflow_groups = dag.task_group.get_task_group_dict()

        ends = {name: {t.task_id for t in g.get_leaves()} for name, g in airflow_groups.items() if name}
        ends |= {name: {name} for name in names}
        for name, task in tasks.items():
            for dep in task.get("depends_on", []):
                assert ends[dep] <= dag.get_task(name).upstream_task_ids
        for name, group in groups.items():
            for root in airflow_groups[name].get_roots():
                for dep in group.get("depends_on", []):
                    assert ends[dep] <= root.upstream_task_ids
    assert built >= 20  # the sample holds valid pipelines, not only rejected ones


def _nested(depth: int) -> str:
    groups = "\n".join(f"  g{i}: {{parent: g{i - 1}}}" if i else "  g0: {}" for i in range(depth))
    return (
        f"start_date: 2024-01-01\ntask_groups:\n{groups}\ntasks:\n"
        f"  fetch:\n    kind: python\n    task_group: g{depth - 1}\n"
        "    callable: include/iris_data.py:prepare_iris\n"
    )


def test_the_deepest_nesting_validate_allows_is_one_airflow_serializes(compile_ok, check):
    """The limit is below what Airflow's serializer can store (it recursed out at about 330 levels)."""
    from airflow.serialization.serialized_objects import DagSerialization

    from sagemaker_pipelines.checks.task_groups import MAX_GROUP_DEPTH

    dag = build_dag(compile_ok(_nested(MAX_GROUP_DEPTH)))
    stored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert stored.get_task("fetch").task_group.group_id == f"g{MAX_GROUP_DEPTH - 1}"
    [problem] = check(_nested(MAX_GROUP_DEPTH + 1)).problems
    assert problem.field == f"task_groups.g{MAX_GROUP_DEPTH}.parent"
    assert f"nested {MAX_GROUP_DEPTH + 1} deep" in problem.message
    [problem] = check(_nested(400)).problems  # one problem per chain, not one per group below the limit
    assert problem.field == f"task_groups.g{MAX_GROUP_DEPTH}.parent"
