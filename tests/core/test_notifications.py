"""``notify:``: what each level compiles to, the DAG the builder makes of it, the environment's notifiers
and the project's own file notifier, called with Airflow's template rendering."""

from __future__ import annotations

import json
import textwrap
import types

import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.airflow.notifiers import Notification, notify_path
from sagemaker_pipelines.compile.notifications import NOTIFIER
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.problems import PipelineInvalid

PIPELINE = """\
start_date: 2024-01-01
notify: {on_failure: [team], on_success: [team], on_retry: [team]}
tasks:
  train:
    kind: training
    algorithm: knn
    inputs: {train: "s3://my-bucket/iris/train.csv"}
    notify: {on_failure: [team, task_log], on_retry: [team, task_log]}
  model:
    kind: model
    from: train
"""


def _names(markers: list[dict]) -> list[tuple[str, str, str]]:
    assert all(m["__callable__"] == NOTIFIER for m in markers)
    return [(m["__kwargs__"]["name"], m["__kwargs__"]["event"], m["__kwargs__"]["level"]) for m in markers]


def test_pipeline_level_is_the_runs_callbacks_and_every_tasks_retry(compile_ok):
    compiled = compile_ok(PIPELINE)
    assert _names(compiled.dag["on_failure_callback"]) == [("team", "on_failure", "pipeline")]
    assert _names(compiled.dag["on_success_callback"]) == [("team", "on_success", "pipeline")]
    assert "on_retry_callback" not in compiled.dag and "on_retry_callback" not in compiled.dag["default_args"]
    model = compiled.task("model").kwargs
    assert _names(model["on_retry_callback"]) == [("team", "on_retry", "task")]
    assert "on_failure_callback" not in model and "on_success_callback" not in model
    json.dumps(compiled.as_dict())  # plain data: cached and rendered as it is


def test_task_level_adds_to_the_pipeline_level(compile_ok):
    train = compile_ok(PIPELINE).task("train").kwargs
    assert _names(train["on_failure_callback"]) == [
        ("team", "on_failure", "task"),
        ("task_log", "on_failure", "task"),
    ]
    # on_retry: the pipeline's and the task's, each notifier once
    assert _names(train["on_retry_callback"]) == [
        ("team", "on_retry", "task"),
        ("task_log", "on_retry", "task"),
    ]
    marker = train["on_failure_callback"][0]["__kwargs__"]
    assert (marker["type"], marker["options"]) == ("file", {"path": "notifications/team.jsonl"})


def test_sns_markers_carry_the_environments_connection_and_the_topics_region(compile_ok, aws_env):
    compiled = compile_ok(
        "start_date: 2024-01-01\nnotify: {on_failure: [team]}\ntasks:\n  t: {kind: python, "
        "callable: 'include/iris_data.py:prepare_iris'}\n",
        environment=aws_env,
    )
    marker = compiled.dag["on_failure_callback"][0]["__kwargs__"]
    assert marker["type"] == "sns"
    assert marker["options"] == {
        "topic_arn": "arn:aws:sns:us-east-2:559345414282:sagemaker-pipelines-team",
        "subject": "Airflow: {{ dag.dag_id }}",
        "aws_conn_id": "aws-sagemaker",
        "region": "us-east-2",
    }


def test_the_built_dag_has_the_callbacks_dag_factory_never_saw(compile_ok):
    dag = build_dag(compile_ok(PIPELINE))
    assert dag.has_on_failure_callback and dag.has_on_success_callback
    assert dag.on_failure_callback == [Notification("team", "file", "on_failure", "pipeline", _TEAM)]
    assert all(n.dag is dag for n in dag.on_failure_callback + dag.on_success_callback)
    train = dag.get_task("train")
    assert [n.name for n in train.on_failure_callback] == ["team", "task_log"]
    assert [n.name for n in train.on_retry_callback] == ["team", "task_log"]
    assert train.has_on_failure_callback and not train.has_on_success_callback
    assert [n.event for n in dag.get_task("model").on_retry_callback] == ["on_retry"]


_TEAM = {"path": "notifications/team.jsonl"}


def test_nothing_but_the_table_names_a_class():
    with pytest.raises(ValueError, match=r"type 'airflow\.models\.Variable' is not one of sns, slack, email"):
        Notification("x", "airflow.models.Variable", "on_failure", "task", {})
    with pytest.raises(ValueError, match="file takes no module"):
        Notification("x", "file", "on_failure", "task", {"path": "a.jsonl", "module": "os"})


def _context(dag_id: str = "nightly", **extra):
    from airflow.sdk import DAG

    ti = types.SimpleNamespace(task_id="train", map_index=-1, try_number=1, dag_id=dag_id)
    return {"dag": DAG(dag_id, schedule=None), "ti": ti, "run_id": "manual__1", **extra}


def test_the_file_notifier_writes_one_json_line_per_notification(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_NOTIFY_DIR", str(tmp_path))
    options = {
        "path": "out/team.jsonl",
        "message": "{{ notification.task_id }} of {{ dag.dag_id }}: {{ default_message }}",
    }
    notification = Notification("team", "file", "on_failure", "task", options)
    notification(_context(exception=RuntimeError("bad {{ braces }} stay text")))
    notification(_context("second"))  # a fresh notifier each time: Airflow's render their fields in place
    lines = [json.loads(line) for line in (tmp_path / "out" / "team.jsonl").read_text().splitlines()]
    assert lines[0]["message"] == (
        "train of nightly: pipeline nightly: task train failed (run manual__1, try 1): "
        "RuntimeError: bad {{ braces }} stay text"
    )
    assert lines[1]["message"] == "train of second: pipeline second: task train failed (run manual__1, try 1)"
    first = lines[0]
    assert {
        k: first[k] for k in ("event", "level", "dag_id", "run_id", "task_id", "map_index", "try_number")
    } == {
        "event": "on_failure",
        "level": "task",
        "dag_id": "nightly",
        "run_id": "manual__1",
        "task_id": "train",
        "map_index": -1,
        "try_number": 1,
    }
    assert first["state"] == "failed" and first["exception"] == "RuntimeError: bad {{ braces }} stay text"
    assert first["time"].endswith("+00:00")


def test_relative_file_paths_are_under_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_NOTIFY_DIR", str(tmp_path))
    assert notify_path("notifications/team.jsonl") == tmp_path / "notifications" / "team.jsonl"
    assert notify_path("/var/log/team.jsonl").as_posix() == "/var/log/team.jsonl"
    monkeypatch.delenv("SAGEMAKER_NOTIFY_DIR")
    monkeypatch.setenv("SAGEMAKER_LOCAL_DIR", str(tmp_path / "local"))
    assert notify_path("team.jsonl") == tmp_path / "local" / "team.jsonl"


def _environment(tmp_path, monkeypatch, notifiers: str):
    folder = tmp_path / "environments"
    folder.mkdir()
    text = (CHECKOUT_ROOT / "environments" / "local.yaml").read_text().split("\nnotifiers:")[0]
    (folder / "local.yaml").write_text(
        text + "\nnotifiers:\n" + textwrap.indent(textwrap.dedent(notifiers), "  ")
    )
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    return lambda: load_environment("local")


def test_environment_notifiers_are_checked_by_the_schema(tmp_path, monkeypatch):
    load = _environment(
        tmp_path,
        monkeypatch,
        """\
        chat: {type: slack, conn_id: slack_api_default, channel: "#ml", token: xoxb-not-here}
        pager: {type: pagerduty}
        mail: {type: email, conn_id: smtp_default}
        """,
    )
    with pytest.raises(PipelineInvalid) as raised:
        load()
    shown = {p.field: p.message for p in raised.value.problems}
    assert "unknown field 'token'" in shown["notifiers.chat.token"]
    assert "pagerduty" in shown["notifiers.pager.type"]
    assert "'to'" in shown["notifiers.mail"]


def test_the_shipped_environments_define_team(local_env, aws_env):
    assert local_env.notifiers["team"] == {"type": "file", "path": "notifications/team.jsonl"}
    assert aws_env.notifiers["team"]["type"] == "sns"


def test_render_shows_each_callback_as_the_notifiers_it_sends_to(compile_ok):
    from sagemaker_pipelines.toolkit.render import render_text

    text = render_text(compile_ok(PIPELINE))
    assert "    on_failure_callback: notify team (file notifications/team.jsonl)\n" in text
    both = "team (file notifications/team.jsonl), task_log (log)"
    assert f"    on_failure_callback: notify {both}\n" in text


def test_run_callbacks_render_though_dag_test_hands_them_the_serialized_dag(tmp_path, monkeypatch):
    """Airflow 3.3's dag.test() passes run callbacks its SerializedDAG, which has no template environment."""
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    monkeypatch.setenv("SAGEMAKER_NOTIFY_DIR", str(tmp_path))
    serialized = DagSerialization.from_dict(DagSerialization.to_dict(DAG("nightly", schedule=None)))
    assert not hasattr(serialized, "get_template_env")
    options = {"path": "team.jsonl", "message": "{{ dag.dag_id }} {{ notification.state }} ({{ reason }})"}
    attached = Notification("team", "file", "on_failure", "pipeline", options)
    attached.dag = DAG("nightly", schedule=None)  # as attach() does for the loader's DAGs
    unattached = Notification("team", "file", "on_failure", "pipeline", options)  # make compile's files
    for notification in (attached, unattached):
        notification({"dag": serialized, "run_id": "manual__1", "reason": "task_failure"})
    lines = [json.loads(line) for line in (tmp_path / "team.jsonl").read_text().splitlines()]
    assert [n["message"] for n in lines] == ["nightly failed (task_failure)"] * 2
    assert lines[0]["level"] == "pipeline" and lines[0]["task_id"] is None


def test_a_notification_that_cannot_be_sent_is_remembered_with_its_error(tmp_path, monkeypatch):
    from sagemaker_pipelines.airflow.notifiers import sent
    from sagemaker_pipelines.local.summary import _notification_lines

    monkeypatch.setenv("SAGEMAKER_NOTIFY_DIR", str(tmp_path))
    (tmp_path / "team.jsonl").mkdir()  # a folder where the file should be
    notification = Notification("team", "file", "on_failure", "task", {"path": "team.jsonl"})
    with pytest.raises(IsADirectoryError):  # Airflow catches and logs a callback's error
        notification(_context())
    last = sent()[-1]
    assert last["error"].startswith("IsADirectoryError:") and "message" not in last
    lines = _notification_lines([last])
    assert lines[0] == "notifications: 0 sent to team, 1 failed"
    assert lines[1].startswith(f"  team (file {tmp_path / 'team.jsonl'}), on_failure of task train: FAILED: ")
