"""Notifications through Airflow's own processes: a failing task's notifiers fire in its task runner, the
run's on_failure and on_success in the dag-processor (where Airflow 3 runs DAG callbacks), and each
notification is a line of the ``team`` file notifier of environments/local.yaml, under the stack's state
folder (pipelines: pipelines/features/notify_*.yaml)."""

from __future__ import annotations

import json

from .conftest import wait_until


def _notifications(stack, run_id: str) -> list[dict]:
    path = stack.state_dir / "notifications" / "team.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [n for n in lines if n["run_id"] == run_id]


def _sent(stack, run_id: str, event: str, level: str, timeout: float = 120) -> list[dict]:
    """The run's notifications once one for ``event`` at ``level`` is there (run callbacks come last:
    the scheduler asks the dag-processor to run them after it decided the run's state)."""

    def arrived():
        found = _notifications(stack, run_id)
        return found if any((n["event"], n["level"]) == (event, level) for n in found) else None

    return wait_until(arrived, timeout, f"the {level} {event} notification of {run_id}")


def test_a_failing_task_notifies_on_retry_on_failure_and_the_run_fails_with_a_notification(features_stack):
    api = features_stack.api
    run_id = api.trigger("notify_failure")
    assert api.wait_for_run("notify_failure", run_id) == "failed"
    assert api.task_states("notify_failure", run_id) == {"upload": "success", "fetch": "failed"}

    sent = _sent(features_stack, run_id, "on_failure", "pipeline")
    by_kind = {(n["event"], n["level"], n["task_id"]): n for n in sent}
    retry = by_kind[("on_retry", "task", "fetch")]
    failure = by_kind[("on_failure", "task", "fetch")]
    run_failure = by_kind[("on_failure", "pipeline", "fetch")]  # the run names the task that failed it
    assert ("on_success", "task", "upload") in by_kind
    assert len(sent) == 4, sent

    assert (retry["try_number"], retry["state"]) == (1, "up_for_retry")
    assert (failure["try_number"], failure["state"]) == (2, "failed")
    for notification in (retry, failure):
        assert "No connection adapters were found for 'nothing://here'" in notification["exception"]
        assert notification["dag_id"] == "notify_failure" and notification["map_index"] == -1
    assert failure["message"].startswith("pipeline notify_failure: task fetch failed (run " + run_id)
    assert failure["message"].endswith(
        "InvalidSchema: No connection adapters were found for 'nothing://here'"
    )
    assert (run_failure["state"], run_failure["reason"]) == ("failed", "task_failure")
    assert run_failure["message"] == f"pipeline notify_failure: run {run_id} failed (task fetch failed)"


def test_a_successful_run_notifies_once(features_stack):
    api = features_stack.api
    run_id = api.trigger("notify_success")
    assert api.wait_for_run("notify_success", run_id) == "success"

    sent = _sent(features_stack, run_id, "on_success", "pipeline")
    assert [(n["event"], n["level"], n["state"]) for n in sent] == [("on_success", "pipeline", "success")]
    assert sent[0]["message"] == f"pipeline notify_success: run {run_id} succeeded"
    assert sent[0]["exception"] is None
