"""S3 event notifications to SQS on the local endpoint, for pipelines scheduled on ``s3_events``.

On AWS the platform team creates the queue, lets the bucket send to it (the queue's policy) and adds
the bucket's event notification; the pipeline only names the queue. Locally ``make run`` and ``make
airflow`` do the same on the emulator before Airflow starts, so an object put into the local bucket
reaches the pipeline's watcher through the same S3 notification and SQS queue as on AWS. The queue
is found by its name (the last part of the URL the environment gives): the local endpoint answers
that URL whatever host it names.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker_pipelines.compile.assets import S3_EVENTS, watcher

EVENTS = ["s3:ObjectCreated:*"]


def _notification_id(queue_name: str, prefix: str) -> str:
    return f"{queue_name}:{prefix}"[:255]


def ensure_s3_events(schedule: Any, s3, sqs) -> str | None:
    """The queue and the bucket notification a compiled ``s3_events`` schedule needs; the queue's local
    URL, or None when the schedule watches no S3 prefix."""
    watched = watcher(schedule)
    if watched is None or S3_EVENTS not in watched:
        return None
    bucket, _, prefix = watched["asset"].removeprefix("s3://").partition("/")
    key_prefix = f"{prefix}/" if prefix else ""
    queue_name = watched["queue"].rstrip("/").rsplit("/", 1)[-1]
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    queues = config.setdefault("QueueConfigurations", [])
    wanted = _notification_id(queue_name, key_prefix)
    if any(q.get("Id") == wanted for q in queues):
        return url
    queues.append(
        {
            "Id": wanted,
            "QueueArn": arn,
            "Events": EVENTS,
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": key_prefix}]}},
        }
    )
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    _drop_test_events(sqs, url)
    return url


def _drop_test_events(sqs, url: str) -> None:
    """S3 answers a new notification with an ``s3:TestEvent`` message; no watcher wants it."""
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0)
    for message in answer.get("Messages", []):
        try:
            body = json.loads(message["Body"])
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("Event") == "s3:TestEvent":
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
