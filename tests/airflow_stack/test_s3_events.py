"""Event-driven runs under Airflow's own scheduler and triggerer, through the REST API: an object put into
the local endpoint's bucket makes S3 notify the SQS queue the environment names; the watcher of
``batch_inference_on_upload`` reads it in the triggerer and the scheduler starts a run (an asset event
of the watched prefix, run type ``asset_triggered``); the run scores the file with the existing model,
loads the warehouse and publishes its scores, on which ``batch_inference_summary`` runs.

Nothing here posts an asset event or triggers a run: the only input is the S3 object.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .conftest import start_stack, stop_stack, wait_until

BUCKET = "sagemaker-local"
PREFIX = "demo-sagemaker-xgboost-adult-income-prediction"
INCOMING = f"s3://{BUCKET}/{PREFIX}/incoming"
SCORES = f"s3://{BUCKET}/{PREFIX}/scored-on-arrival"
QUEUE = "https://sqs.us-east-2.amazonaws.com/123456789012/sagemaker-local-s3-events"
PIPELINES = ("batch_inference_on_upload", "batch_inference_summary")


@pytest.fixture(scope="module")
def events_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("s3-events"), pipelines=PIPELINES, scheduling=True)
    try:
        wait_until(lambda: set(PIPELINES) <= stack.api.dag_ids(), 240, f"{PIPELINES} listed")
        yield stack
    finally:
        stop_stack(stack)


def _events(api, **query) -> list[dict]:
    return api.get(f"/api/v2/assets/events?{urlencode({**query, 'limit': 100})}")["asset_events"]


def _asset_events(api, uri: str) -> list[dict]:
    return [e for e in _events(api, order_by="-timestamp") if e["uri"] == uri]


def test_an_object_put_into_the_bucket_runs_the_pipeline_and_its_consumer(events_stack):
    api = events_stack.api
    for dag_id in PIPELINES:  # a paused DAG gets no run (its watcher's events are still recorded)
        api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    assert _asset_events(api, INCOMING) == []
    rows = (CHECKOUT_ROOT / "include" / "data" / "test.csv").read_bytes()
    s3 = events_stack.aws_client("s3", "us-east-2")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/incoming/adults.csv", Body=rows)

    (run,) = wait_until(
        lambda: api.asset_triggered_runs("batch_inference_on_upload"), 180, "a run queued by the watcher"
    )
    run_id = run["dag_run_id"]
    assert api.wait_for_run("batch_inference_on_upload", run_id, timeout=600) == "success", api.task_states(
        "batch_inference_on_upload", run_id
    )
    # The run scored the file and loaded the warehouse.
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/scored-on-arrival/")
    assert [o["Key"] for o in listed["Contents"]] == [f"{PREFIX}/scored-on-arrival/adults.csv.out"]
    with sqlite3.connect(events_stack.state_dir / "warehouse.db") as db:
        (loaded,) = db.execute("SELECT COUNT(*) FROM results").fetchone()
    assert loaded == len(rows.splitlines())

    # Its scores are an asset, whose event queued the summary.
    (summary,) = wait_until(
        lambda: api.asset_triggered_runs("batch_inference_summary"),
        180,
        "a run of the summary queued by the scores",
    )
    assert api.wait_for_run("batch_inference_summary", summary["dag_run_id"], timeout=300) == "success"
    (scores,) = _events(api, source_dag_id="batch_inference_on_upload", source_run_id=run_id)
    assert (scores["uri"], scores["source_task_id"]) == (SCORES, "predict")
    assert [r["run_id"] for r in scores["created_dagruns"]] == [summary["dag_run_id"]]
    # The first run came from the watcher's event of the incoming prefix (the triggerer's, not a task's).
    (event,) = _asset_events(api, INCOMING)
    assert event["source_dag_id"] is None
    assert [(r["dag_id"], r["run_id"]) for r in event["created_dagruns"]] == [
        ("batch_inference_on_upload", run_id)
    ]
    xcom = api.get(
        f"/api/v2/dags/batch_inference_summary/dagRuns/{summary['dag_run_id']}"
        "/taskInstances/summarize/xcomEntries/return_value"
    )["value"]
    assert xcom["files"] == 1 and xcom["predictions"] == len(rows.splitlines())

    # The watcher took the message off the queue: one object, one run.
    sqs = events_stack.aws_client("sqs", "us-east-2")
    attributes = sqs.get_queue_attributes(QueueUrl=QUEUE, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
