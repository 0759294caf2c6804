"""An ``sns`` notifier publishes through the Amazon provider's SnsNotifier to a real SNS topic of the local
endpoint; an SQS queue subscribed to the topic receives the message, as a team's mail or chat bridge would."""

from __future__ import annotations

import json
import os
import tempfile
import types

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="sns-notifier-tests-"))

REGION = "us-east-2"


def test_sns_notifier_publishes_the_message_to_the_topic(local_aws, monkeypatch):
    import boto3
    from airflow.sdk import DAG

    from sagemaker_pipelines.airflow.notifiers import Notification, sent

    sns = boto3.client("sns", **local_aws.client_kwargs(REGION))
    sqs = boto3.client("sqs", **local_aws.client_kwargs(REGION))
    topic = sns.create_topic(Name="sagemaker-pipelines-team")["TopicArn"]
    queue = sqs.create_queue(QueueName="team-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    connection = {
        "conn_type": "aws",
        "login": local_aws.access_key_id,
        "password": local_aws.secret_access_key,
        "extra": {"endpoint_url": local_aws.endpoint_url, "region_name": REGION},
    }
    monkeypatch.setenv("AIRFLOW_CONN_NOTIFY_AWS", json.dumps(connection))

    # As compile/notifications.py makes it for `team: {type: sns, topic_arn: ..., subject: ...}`.
    options = {
        "topic_arn": topic,
        "subject": "Airflow: {{ dag.dag_id }}",
        "aws_conn_id": "notify_aws",
        "region": topic.split(":")[3],
    }
    notification = Notification("team", "sns", "on_failure", "task", options)
    ti = types.SimpleNamespace(task_id="train", map_index=-1, try_number=2, dag_id="nightly")
    context = {"dag": DAG("nightly", schedule=None), "ti": ti, "run_id": "manual__1"}
    notification({**context, "exception": ValueError("feature scaling diverged")})

    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["TopicArn"] == topic
    assert body["Subject"] == "Airflow: nightly"
    expected = "pipeline nightly: task train failed (run manual__1, try 2): "
    expected += "ValueError: feature scaling diverged"
    assert body["Message"] == expected
    assert sent()[-1] == {
        "name": "team",
        "type": "sns",
        "event": "on_failure",
        "level": "task",
        "task_id": "train",
        "target": topic,
        "message": expected,
    }
