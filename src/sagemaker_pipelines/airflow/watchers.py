"""Asset watchers: a compiled ``s3_events``/``sqs`` schedule as an ``Asset`` whose ``AssetWatcher`` reads
an SQS queue in Airflow's triggerer, so that an event from outside Airflow starts a run with no sensor
holding a worker and no run started just to look.

The trigger is the common-messaging provider's ``MessageQueueTrigger`` with scheme ``sqs`` (which the
Amazon provider answers with its ``SqsSensorTrigger``): Airflow 3's supported way to watch a queue. It
long-polls (one ``ReceiveMessage`` waits up to 20 s for a message), so a quiet queue costs three calls a
minute and an event is seen within a second. For S3 events, a JSONPath filter keeps only the
``ObjectCreated`` records of the watched bucket and prefix: the bucket's test event, other prefixes'
events on a shared queue and deletions start nothing, and are left on the queue for whoever wants them
(the trigger deletes only what it keeps).
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import quote_plus

from sagemaker_pipelines.compile.assets import CONN, S3_EVENTS, watcher

LONG_POLL_SECONDS = 20  # SQS's longest wait for a message in one ReceiveMessage
MAX_MESSAGES = 10  # SQS's most messages in one ReceiveMessage
WAITER_DELAY = 1  # seconds between two long polls that found nothing: the long poll is the wait
SCHEME = "sqs"  # the message-queue scheme the Amazon provider answers
TRIGGER = "airflow.providers.common.messaging.triggers.msg_queue.MessageQueueTrigger"


def _literal(text: str) -> str:
    """``text`` as a regular expression that matches it alone, without backslashes (jsonpath-ng's lexer
    drops them from a string). After URL-encoding only letters, digits and ``_.-~+%`` remain."""
    return "".join(c if c.isalnum() or c in "_-%" else f"[{c}]" for c in text)


def s3_event_filter(prefix_uri: str) -> str:
    """The JSONPath (jsonpath-ng's extended syntax) that matches an S3 notification's records of an object
    created under ``prefix_uri`` (``s3://bucket/prefix``). S3 writes the key URL-encoded in the event,
    with a ``/`` as it is or as ``%2F`` (the local endpoint does the latter): both match."""
    bucket, _, prefix = prefix_uri.removeprefix("s3://").partition("/")
    parts = f"{prefix}/".split("/") if prefix else [""]
    key = "(?:/|%2[Ff])".join(_literal(quote_plus(part)) for part in parts)
    return (
        "Records[?(@.eventName =~ '^ObjectCreated:' && "
        f"@.s3.bucket.name == '{bucket}' && @.s3.object.key =~ '^{key}')]"
    )


def _watched(schedule: dict[str, Any]) -> dict[str, str]:
    watched = watcher(schedule)
    if watched is None:
        raise ValueError(f"not a watcher schedule: {schedule!r}")
    return watched


def trigger_kwargs(schedule: dict[str, Any]) -> dict[str, Any]:
    """The ``SqsSensorTrigger`` arguments of a compiled watcher schedule (``render`` shows them too)."""
    watched = _watched(schedule)
    kwargs: dict[str, Any] = {
        "sqs_queue": watched["queue"],
        "aws_conn_id": schedule.get(CONN),
        "max_messages": MAX_MESSAGES,
        "wait_time_seconds": LONG_POLL_SECONDS,
        "waiter_delay": WAITER_DELAY,
    }
    if S3_EVENTS in watched:
        kwargs.update(
            message_filtering="jsonpath-ext", message_filtering_config=s3_event_filter(watched["asset"])
        )
    return kwargs


def watcher_name(schedule: dict[str, Any]) -> str:
    """The watcher's name in Airflow: ``sqs-<queue name>``."""
    return "sqs-" + _watched(schedule)["queue"].rstrip("/").rsplit("/", 1)[-1]


def watched_asset(schedule: dict[str, Any]) -> Any:
    """The ``Asset`` the watcher feeds: the S3 prefix (or the queue URL), with the queue's watcher."""
    from airflow.sdk import Asset, AssetWatcher

    module, _, name = TRIGGER.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(scheme=SCHEME, **trigger_kwargs(schedule))
    watcher_of = AssetWatcher(name=watcher_name(schedule), trigger=trigger)
    return Asset(_watched(schedule)["asset"], watchers=[watcher_of])
