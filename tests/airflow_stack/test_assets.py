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

    # iris_training's schedule adds a run of its own once unpaused: its model event queues another
    # consumer run, so the consumer to follow is the one this run's event created.
    def consumer_runs() -> list[dict] | None:
        if any(r["start_date"] is None for r in api.asset_triggered_runs("iris_batch_on_model")):
            return None  # the events endpoint answers 500 for an event whose run has not started
        try:
            (event,) = _events(api, "iris_training", run_id)
        except AssertionError as error:  # a run created between the two calls: ask again
            if "HTTP 500" in str(error):
                return None
            raise
        assert (event["uri"], event["source_task_id"]) == (MODEL_ASSET, "train_model")
        return event["created_dagruns"]

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
