"""Assets under Airflow's own scheduler, through its REST API: triggering ``iris_training`` records an
asset event for the model prefix its training task publishes, and that event queues a run of
``iris_batch_on_model`` (run type ``asset_triggered``), which scores the test split with the new model
and publishes its scores in turn.

This module starts its own stack: the shared one switches the scheduler's own run creation off, and
Airflow creates asset-triggered runs in that same step."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from .conftest import start_stack, stop_stack, wait_until

MODEL_ASSET = "s3://sagemaker-local/iris/results"
SCORES_ASSET = "s3://sagemaker-local/iris/scored-on-new-model"


@pytest.fixture(scope="module")
def asset_stack(tmp_path_factory):
    stack = start_stack(
        tmp_path_factory.mktemp("assets"), pipelines=("iris_training", "iris_batch_on_model"), scheduling=True
    )
    try:
        yield stack
    finally:
        stop_stack(stack)


def _events(api, dag_id: str, run_id: str) -> list[dict]:
    query = urlencode({"source_dag_id": dag_id, "source_run_id": run_id, "limit": 100})  # run ids hold '+'
    return api.get(f"/api/v2/assets/events?{query}")["asset_events"]


def test_a_published_model_triggers_the_pipeline_scheduled_on_it(asset_stack):
    api = asset_stack.api
    api.call("PATCH", "/api/v2/dags/iris_batch_on_model", {"is_paused": False})  # a paused DAG gets no run
    run_id = api.trigger("iris_training")
    assert api.wait_for_run("iris_training", run_id, timeout=600) == "success"

    (event,) = wait_until(lambda: _events(api, "iris_training", run_id), 60, "the model's asset event")
    assert (event["uri"], event["source_task_id"]) == (MODEL_ASSET, "train_model")

    def consumer_runs() -> list[dict]:
        (current,) = _events(api, "iris_training", run_id)
        return current["created_dagruns"]

    (created,) = wait_until(consumer_runs, 180, "a run of iris_batch_on_model queued by the event")
    assert created["dag_id"] == "iris_batch_on_model"
    consumer_id = created["run_id"]
    run = api.get(f"/api/v2/dags/iris_batch_on_model/dagRuns/{consumer_id}")
    assert run["run_type"] == "asset_triggered"
    assert api.wait_for_run("iris_batch_on_model", consumer_id, timeout=600) == "success"

    (scores,) = _events(api, "iris_batch_on_model", consumer_id)
    assert (scores["uri"], scores["source_task_id"]) == (SCORES_ASSET, "score")
    s3 = asset_stack.aws_client("s3", "us-east-2")
    listed = s3.list_objects_v2(Bucket="sagemaker-local", Prefix="iris/scored-on-new-model/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["iris/scored-on-new-model/test.csv.out"]
