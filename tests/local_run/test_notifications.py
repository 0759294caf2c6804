"""``make run`` of a pipeline whose task fails: its on_failure notifications reach the ``team`` file of the
local environment (under the run's state folder), the run's own on_failure too (dag.test() runs DAG
callbacks), and the summary says what was sent."""

from __future__ import annotations

import json
import textwrap

PIPELINE = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    notify: {on_failure: [team], on_success: [team]}
    s3:
      prefixes: {input: notify-run/input}
    tasks:
      fetch:
        kind: python
        callable: include/iris_data.py:prepare_iris
        arguments: {data_url: "nothing://here", input_uri: "${s3.input}", aws_conn_id: "${env.aws_conn_id}"}
        notify: {on_failure: [team, task_log]}
    """
)


def test_a_failing_task_notifies_the_team_file_and_the_summary_says_so(run_pipeline, state_dir, tmp_path):
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "notify_run_failure.yaml").write_text(PIPELINE)

    result = run_pipeline("notify_run_failure", extra_env={"SAGEMAKER_PIPELINES_DIR": str(pipelines)})
    assert result.returncode == 1
    assert result.task("fetch")["state"] == "failed"

    path = state_dir / "notifications" / "team.jsonl"
    sent = [json.loads(line) for line in path.read_text().splitlines()]
    sent = [n for n in sent if n["dag_id"] == "notify_run_failure"]
    assert [(n["event"], n["level"], n["task_id"]) for n in sent] == [
        ("on_failure", "task", "fetch"),
        ("on_failure", "pipeline", "fetch"),
    ]
    task_failure, run_failure = sent
    assert (
        task_failure["exception"] == "InvalidSchema: No connection adapters were found for 'nothing://here'"
    )
    assert task_failure["message"].startswith("pipeline notify_run_failure: task fetch failed (run manual__")
    assert run_failure["reason"] == "task_failure"

    # the summary: what was sent, to whom, with the message; the log notifier's line is in the task log
    report = result.report["notifications"]
    assert [(n["name"], n["type"], n["event"], n["level"]) for n in report] == [
        ("team", "file", "on_failure", "task"),
        ("task_log", "log", "on_failure", "task"),
        ("team", "file", "on_failure", "pipeline"),
    ]
    assert "notifications: 3 sent to task_log, team" in result.output
    assert f"  team (file {path}), on_failure of task fetch: {task_failure['message']}" in result.output
    assert f"  team (file {path}), on_failure of the run: {run_failure['message']}" in result.output
    assert f"notification: {task_failure['message']}" in result.output  # the log notifier, in the task log
