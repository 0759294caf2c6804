"""``make airflow`` with the LocalExecutor, through its REST API: what a user sees and what they run.

One stack serves the whole module (starting Airflow's processes is most of the cost); the tests run in
file order and the last one stops it with Ctrl-C.
"""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from .conftest import EXAMPLES, command_line, start_stack, stop_stack, wait_until

REGION = "us-east-2"  # environments/local.yaml


@pytest.fixture(scope="module")
def stack(tmp_path_factory, deferred_pipeline):
    running = start_stack(tmp_path_factory.mktemp("stack"), extra=(deferred_pipeline,))
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def runs(stack):
    """iris_training (with a trigger-form value) and the deferred pipeline, triggered together."""
    wait_until(lambda: {*EXAMPLES, "iris_deferred"} <= stack.api.dag_ids(), 120, "DAGs listed")
    return {
        "iris_training": stack.api.trigger("iris_training", {"k": 5}),
        "iris_deferred": stack.api.trigger("iris_deferred"),
    }


def _sagemaker(stack):
    return stack.aws_client("sagemaker", REGION)


def test_the_examples_are_listed_with_no_import_errors(stack):
    dag_ids = wait_until(
        lambda: stack.api.dag_ids() >= set(EXAMPLES) and stack.api.dag_ids(), 120, "examples"
    )
    assert set(EXAMPLES) <= dag_ids
    assert stack.api.get("/api/v2/importErrors")["total_entries"] == 0
    health = stack.api.get("/api/v2/monitor/health")
    assert {health[c]["status"] for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")} == {
        "healthy"
    }
    assert "Airflow is up" in stack.output


def test_iris_training_succeeds_under_the_scheduler(stack, runs):
    run_id = runs["iris_training"]
    state = stack.api.wait_for_run("iris_training", run_id)
    assert state == "success", stack.api.task_states("iris_training", run_id)
    assert set(stack.api.task_states("iris_training", run_id).values()) == {"success"}
    # The trigger form's value reached the real training job on the endpoint.
    jobs = _sagemaker(stack).list_training_jobs(NameContains="train-iris")["TrainingJobSummaries"]
    (job,) = jobs
    described = _sagemaker(stack).describe_training_job(TrainingJobName=job["TrainingJobName"])
    assert described["HyperParameters"]["k"] == "5"
    assert described["TrainingJobStatus"] == "Completed"


def test_a_deferred_training_job_completes_through_the_triggerer(stack, runs):
    run_id = runs["iris_deferred"]
    state = stack.api.wait_for_run("iris_deferred", run_id)
    states = stack.api.task_states("iris_deferred", run_id)
    assert state == "success", (states, stack.api.task_log("iris_deferred", run_id, "train_model")[-6000:])
    # The task gave up its worker slot after creating the job; the triggerer saw the job finish (its
    # own log of the trigger, beside the task's) and the task resumed to succeed.
    task_logs = stack.state_dir / "airflow" / "logs" / "dag_id=iris_deferred" / f"run_id={run_id}"
    trigger_logs = list((task_logs / "task_id=train_model").glob("attempt=1.log.trigger.*.log"))
    assert trigger_logs, f"no trigger log under {task_logs}"
    trigger_log = trigger_logs[0].read_text()
    assert "Trigger fired event" in trigger_log and "'status': 'success'" in trigger_log, trigger_log
    assert "Creating SageMaker training job" in stack.api.task_log("iris_deferred", run_id, "train_model")


def test_a_broken_pipeline_is_an_import_error_while_the_others_stay_listed(stack, runs):
    """An example edited into a broken state while Airflow runs (the others are untouched)."""
    broken = "schedule: '@daily'\nstart_date: 2021-07-31\ntasks:\n  train:\n    kind: training\n"
    (stack.pipelines / "iris_script_mode.yaml").write_text(broken + "    algorithm: knnn\n")
    others = [name for name in EXAMPLES if name != "iris_script_mode"]

    def broken_listed():
        errors = stack.api.get("/api/v2/importErrors")["import_errors"]
        return [e for e in errors if "iris_script_mode.yaml:6:" in e["stack_trace"]]

    (error,) = wait_until(broken_listed, 90, "the broken pipeline in importErrors")
    assert "tasks.train.algorithm" in error["stack_trace"]
    dags = {d["dag_id"]: d for d in stack.api.get("/api/v2/dags?limit=100")["dags"]}
    assert set(others) <= set(dags)
    assert not any(dags[name]["is_stale"] for name in others)


def test_a_killed_triggerer_is_restarted_and_airflow_sees_it_healthy_again(stack):
    """An out-of-memory kill of one process does not take the stack down: make airflow starts it again,
    says so, and Airflow's own health check sees a triggerer heartbeat again."""
    children = psutil.Process(stack.process.pid).children()  # what make airflow started itself
    (triggerer,) = [p for p in children if "triggerer" in " ".join(command_line(p))]
    before = stack.api.get("/api/v2/monitor/health")["triggerer"]["latest_triggerer_heartbeat"]
    os.killpg(triggerer.pid, signal.SIGKILL)  # its whole process group, as the OOM killer of a cgroup does
    wait_until(lambda: "triggerer exited with code -9: restarted" in stack.output, 60, "the restart line")

    def beating_again():
        health = stack.api.get("/api/v2/monitor/health")["triggerer"]
        return health["status"] == "healthy" and health["latest_triggerer_heartbeat"] != before

    wait_until(beating_again, 120, "a new triggerer heartbeat")
    assert stack.process.poll() is None  # the stack, the endpoint and the other processes went on


def test_ctrl_c_stops_every_process_it_started(stack):
    processes = stack.descendants()
    names = " ".join(" ".join(command_line(p)) for p in processes)
    for component in ("api-server", "scheduler", "dag-processor", "triggerer", "local.aws.server"):
        assert component in names or component.replace("-", "_") in names, component
    assert stack.interrupt() == 0, stack.output[-3000:]
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [command_line(p) for p in alive]
    assert "none left" in stack.output
