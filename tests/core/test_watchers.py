"""Event-driven schedules: ``{s3_events: <prefix>, queue: <SQS URL>}`` and ``{sqs: <SQS URL>}`` compile to
an asset with an ``AssetWatcher`` whose trigger reads the queue in Airflow's triggerer; the schema and
validate locate what is wrong. The S3 event filter is checked against the provider's own filtering
code with notification bodies as S3 (AWS's spelling and the local endpoint's) writes them."""

from __future__ import annotations

import json

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.airflow.watchers import s3_event_filter
from sagemaker_pipelines.compile.assets import scheduled_on

QUEUE = "https://sqs.us-east-2.amazonaws.com/123456789012/s3-events"
PIPELINE = """\
start_date: 2024-01-01
schedule: SCHEDULE
tasks:
  score:
    kind: transform
    model_name: census
    input: s3://my-bucket/incoming/
    output: s3://my-bucket/scored/
"""


def _pipeline(schedule: str) -> str:
    return PIPELINE.replace("SCHEDULE", schedule)


def _watchers(dag):
    from airflow.sdk import Asset

    condition = dag.timetable.asset_condition
    assets = [condition] if isinstance(condition, Asset) else list(condition.objects)
    return [(asset.uri, watcher) for asset in assets for watcher in asset.watchers]


def test_s3_events_watch_the_prefix_through_the_queue(compile_ok):
    compiled = compile_ok(_pipeline(f"{{s3_events: s3://my-bucket/incoming/, queue: {QUEUE}}}"))
    assert compiled.dag["schedule"] == {
        "s3_events": "s3://my-bucket/incoming",
        "queue": QUEUE,
        "aws_conn_id": "aws_local",
    }
    assert scheduled_on(compiled.dag["schedule"]) == ["s3://my-bucket/incoming"]
    ((uri, watcher),) = _watchers(build_dag(compiled))
    assert uri == "s3://my-bucket/incoming" and watcher.name == "sqs-s3-events"
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
    assert kwargs["sqs_queue"] == QUEUE and kwargs["aws_conn_id"] == "aws_local"
    assert kwargs["message_filtering"] == "jsonpath-ext"
    assert kwargs["message_filtering_config"] == s3_event_filter("s3://my-bucket/incoming")
    assert kwargs["wait_time_seconds"] == 20  # long polling: a quiet queue costs three calls a minute


def test_sqs_watches_every_message_and_a_cron_can_be_added(compile_ok):
    from airflow.sdk import AssetOrTimeSchedule

    dag = build_dag(compile_ok(_pipeline(f'{{sqs: "{QUEUE}", cron: "0 6 * * *"}}')))
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable.expression == "0 6 * * *"
    ((uri, watcher),) = _watchers(dag)
    assert uri == QUEUE
    _, kwargs = watcher.trigger.serialize()
    assert kwargs["sqs_queue"] == QUEUE and kwargs["message_filtering"] is None


def test_an_s3_watch_without_its_queue_says_so(check):
    (problem,) = check(_pipeline("{s3_events: s3://my-bucket/incoming}")).problems
    assert (problem.field, problem.line, problem.column) == ("schedule", 2, 1)
    assert problem.message == "missing required field 'queue' for S3 events under a prefix"


def test_a_queue_that_is_no_sqs_url_is_located(check):
    text = _pipeline("\n  s3_events: s3://my-bucket/incoming\n  queue: https://example.com/q")
    (problem,) = check(text).problems
    assert (problem.field, problem.line, problem.column) == ("schedule.queue", 4, 3)
    assert "expected an SQS queue URL like https://sqs.us-east-2.amazonaws.com/123456789012/my-queue" in (
        problem.message
    )
    (problem,) = check(_pipeline(f"{{sqs: {QUEUE}, queue: {QUEUE}}}")).problems
    assert (problem.field, problem.message) == (
        "schedule.queue",
        "unknown field 'queue' in messages on an SQS queue",
    )
    assert problem.hint == "allowed: cron, sqs"


def _message(key: str, bucket: str = "my-bucket", event: str = "ObjectCreated:Put") -> dict:
    record = {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
    return {"Body": json.dumps({"Records": [record]})}


def test_the_s3_filter_keeps_objects_created_under_the_prefix_only():
    from airflow.providers.amazon.aws.utils.sqs import filter_messages

    path = s3_event_filter("s3://my-bucket/in coming/data")

    def kept(message: dict) -> bool:
        return bool(filter_messages([message], "jsonpath-ext", None, path))

    assert kept(_message("in+coming/data/a.csv"))  # AWS: URL-encoded, '/' as it is
    assert kept(_message("in+coming%2Fdata%2Fa.csv"))  # the local endpoint: '/' encoded too
    assert not kept(_message("in+coming/database/a.csv"))  # a sibling prefix
    assert not kept(_message("other/in+coming/data/a.csv"))
    assert not kept(_message("in+coming/data/a.csv", bucket="other-bucket"))
    assert not kept(_message("in+coming/data/a.csv", event="ObjectRemoved:Delete"))
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "my-bucket"}
    assert not kept({"Body": json.dumps(test_event)})
