"""The ``email`` and ``slack`` notifiers really send: ``make run`` of a pipeline whose task fails, in an
environment (a copy of ``local``) whose notifiers reach an SMTP server and Slack's Web API on 127.0.0.1
(``loopback_receivers.py``) through Airflow connections given as ``AIRFLOW_CONN_<ID>`` variables, the
way a deployment gives them. The receivers parse what crossed the socket: the mail's envelope, To,
From, Subject and body; the ``chat.postMessage`` call's token, channel and text.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .loopback_receivers import SlackReceiver, SmtpReceiver

PIPELINE = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    notify: {on_failure: [chat]}
    s3:
      prefixes: {input: notify-delivery/input}
    tasks:
      fetch:
        kind: python
        callable: include/iris_data.py:prepare_iris
        arguments:
          data_url: "nothing://<!channel>&<b>here</b>"
          input_uri: "${s3.input}"
          aws_conn_id: "${env.aws_conn_id}"
        notify: {on_failure: [mail, chat, team]}
    """
)
NOTIFIERS = {
    "mail": {
        "type": "email",
        "conn_id": "smtp_loopback",
        "to": ["ml-team@example.com", "oncall@example.com"],
    },
    "chat": {"type": "slack", "conn_id": "slack_loopback", "channel": "#ml-alerts"},
    # the optional fields: a sender, a subject and a body of one's own, Jinja templates with Airflow's context
    "mail_custom": {
        "type": "email",
        "conn_id": "smtp_loopback",
        "to": "data-owner@example.com",
        "from": "alerts@example.com",
        "subject": "[{{ notification.state }}] {{ notification.dag_id }}.{{ notification.task_id }}",
        "message": "<p>{{ default_message }}</p><p>run {{ run_id }}</p>",
    },
    "chat_custom": {
        "type": "slack",
        "conn_id": "slack_loopback",
        "channel": "@data-owner",
        "message": ":red_circle: {{ ti.task_id }} said {{ notification.exception }}",
    },
    "chat_nowhere": {"type": "slack", "conn_id": "slack_missing", "channel": "#void"},  # no such connection
}
TOKEN = "xoxb-loopback-test-token"
# The task's error holds markup: Slack would read <!channel> as a mention of everyone, a mail client <b> as
# HTML. Both arrive as text: escaped (HTML in the mail's body, Slack's own &lt; &gt; &amp; in its text).
ERROR = "InvalidSchema: No connection adapters were found for 'nothing://<!channel>&<b>here</b>'"
SHOWN = "InvalidSchema: No connection adapters were found for 'nothing://&lt;!channel&gt;&amp;&lt;b&gt;here&lt;/b&gt;'"


@pytest.fixture
def environments(tmp_path):
    """``local`` as shipped, plus the two notifiers (validation checks every environment of the folder)."""
    env = yaml.safe_load((CHECKOUT_ROOT / "environments" / "local.yaml").read_text())
    env["notifiers"] = {**env["notifiers"], **NOTIFIERS}
    folder = tmp_path / "environments"
    folder.mkdir()
    (folder / "local.yaml").write_text(yaml.safe_dump(env, sort_keys=False))
    return folder


def _run_with_receivers(run_pipeline, environments, tmp_path, name: str, text: str):
    """``make run`` of pipeline ``text`` with a loopback SMTP server and Slack API behind the connections
    the environment's notifiers name; the result, then the mails and the Slack calls they received."""
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / f"{name}.yaml").write_text(text)
    with SmtpReceiver() as smtp, SlackReceiver() as slack:
        result = run_pipeline(
            name,
            extra_env={
                "SAGEMAKER_PIPELINES_DIR": str(pipelines),
                "SAGEMAKER_ENVIRONMENTS_DIR": str(environments),
                "AIRFLOW_CONN_SMTP_LOOPBACK": json.dumps(smtp.connection(from_email="airflow@loopback.test")),
                "AIRFLOW_CONN_SLACK_LOOPBACK": json.dumps(slack.connection(token=TOKEN)),
            },
        )
        return result, smtp.mails, slack.calls


def test_a_failing_task_sends_a_real_mail_and_real_slack_messages(
    run_pipeline, environments, state_dir, tmp_path
):
    result, mails, calls = _run_with_receivers(
        run_pipeline, environments, tmp_path, "notify_delivery", PIPELINE
    )
    assert result.returncode == 1, result.output[-4000:]
    assert result.task("fetch")["state"] == "failed"

    # e-mail: the task's on_failure, one message to both recipients, From the connection's from_email
    assert len(mails) == 1, result.output[-4000:]
    mail = mails[0]
    assert mail.sender == "airflow@loopback.test"
    assert mail.recipients == ["ml-team@example.com", "oncall@example.com"]
    assert mail.message["From"] == "airflow@loopback.test"
    assert mail.message["To"] == "ml-team@example.com, oncall@example.com"
    assert mail.message["Subject"] == "Airflow: notify_delivery failed"
    body = mail.body.strip()
    assert body.startswith("pipeline notify_delivery: task fetch failed (run manual__"), body
    assert body.endswith(f", try 1): {SHOWN}"), body

    # Slack: the task's on_failure, then the run's, each one chat.postMessage with the connection's token
    assert [c.method for c in calls] == ["chat.postMessage", "chat.postMessage"], result.output[-4000:]
    assert {c.authorization for c in calls} == {f"Bearer {TOKEN}"}
    assert [c.payload["channel"] for c in calls] == ["#ml-alerts", "#ml-alerts"]
    task_text, run_text = (c.payload["text"] for c in calls)
    assert task_text == body  # the same default message, whichever way it is sent
    run_id = task_text.split("(run ", 1)[1].split(",", 1)[0]
    assert run_text == f"pipeline notify_delivery: run {run_id} failed (task fetch failed)"

    assert "<" not in task_text and "<" not in body
    # the file notifier, JSON, keeps the error as it was (it is the same notification, unescaped)
    lines = (state_dir / "notifications" / "team.jsonl").read_text().splitlines()
    [raw] = [n for n in map(json.loads, lines) if n["dag_id"] == "notify_delivery"]
    assert raw["exception"] == ERROR

    # make run's summary lists what was sent, to which target
    report = result.report["notifications"]
    assert [(n["name"], n["type"], n["level"], n["target"]) for n in report] == [
        ("mail", "email", "task", "ml-team@example.com, oncall@example.com"),
        ("chat", "slack", "task", "#ml-alerts"),
        ("team", "file", "task", str(state_dir / "notifications" / "team.jsonl")),
        ("chat", "slack", "pipeline", "#ml-alerts"),
    ]
    assert all("error" not in n for n in report), report
    assert f"  mail (email ml-team@example.com, oncall@example.com), on_failure of task fetch: {body}" in (
        result.output
    )
    assert f"  chat (slack #ml-alerts), on_failure of the run: {run_text}" in result.output


TEMPLATED = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    s3:
      prefixes: {input: notify-templates/input}
    tasks:
      fetch:
        kind: python
        callable: include/iris_data.py:prepare_iris
        arguments: {data_url: "nothing://<here>", input_uri: "${s3.input}", aws_conn_id: "${env.aws_conn_id}"}
        notify: {on_failure: [chat_nowhere, mail_custom, chat_custom]}
    """
)


def test_templates_and_a_missing_connection(run_pipeline, environments, tmp_path):
    """A notifier's own from/subject/message reach the receivers rendered; one whose connection does not
    exist is listed as FAILED, and neither the task's state nor the other notifications change."""
    result, mails, calls = _run_with_receivers(
        run_pipeline, environments, tmp_path, "notify_templates", TEMPLATED
    )
    assert result.returncode == 1, result.output[-4000:]
    assert result.task("fetch")["state"] == "failed"
    error = "InvalidSchema: No connection adapters were found for 'nothing://&lt;here&gt;'"

    [mail] = mails
    assert (mail.sender, mail.recipients) == ("alerts@example.com", ["data-owner@example.com"])
    assert mail.message["From"] == "alerts@example.com"
    assert mail.message["To"] == "data-owner@example.com"
    assert mail.message["Subject"] == "[failed] notify_templates.fetch"
    body = mail.body.strip()
    run_id = body.split("(run ", 1)[1].split(",", 1)[0]
    default = f"pipeline notify_templates: task fetch failed (run {run_id}, try 1): {error}"
    assert body == f"<p>{default}</p><p>run {run_id}</p>"  # the template's own HTML, the values escaped

    [call] = calls  # chat_nowhere never reached a server
    assert (call.method, call.payload["channel"]) == ("chat.postMessage", "@data-owner")
    assert call.payload["text"] == f":red_circle: fetch said {error}"

    report = {n["name"]: n for n in result.report["notifications"]}
    assert list(report) == ["chat_nowhere", "mail_custom", "chat_custom"]
    assert "slack_missing" in report["chat_nowhere"]["error"]
    assert "error" not in report["mail_custom"] and "error" not in report["chat_custom"]
    assert "notifications: 2 sent to chat_custom, chat_nowhere, mail_custom, 1 failed" in result.output
    assert "  chat_nowhere (slack #void), on_failure of task fetch: FAILED: " in result.output


def _context(exception: Exception, run_id: str = "manual__2024", conf: dict | None = None) -> dict:
    """What Airflow hands a task's on_failure callback, as far as notifiers read it."""
    from types import SimpleNamespace

    from airflow.sdk import DAG

    ti = SimpleNamespace(task_id="fetch", dag_id="unit", run_id=run_id, map_index=-1, try_number=1)
    dag_run = SimpleNamespace(conf=conf or {}, run_id=run_id)
    return {
        "dag": DAG("unit", schedule=None),
        "ti": ti,
        "run_id": run_id,
        "dag_run": dag_run,
        "exception": exception,
    }


def test_a_line_break_in_an_error_text_does_not_drop_the_mail_whose_subject_shows_it(monkeypatch):
    """The real SmtpNotifier refused a subject holding the error's CR/LF, and the mail never left; a header
    field is now one line, so the mail arrives, with no header smuggled in through the error text."""
    from sagemaker_pipelines.airflow.notifiers import Notification

    options = {
        "conn_id": "smtp_loopback",
        "to": "data-owner@example.com",
        "subject": "[{{ notification.state }}] {{ notification.exception }}",
    }
    notification = Notification("mail_custom", "email", "on_failure", "task", options)
    error = ValueError("disk full\r\nBcc: everyone@example.com\r\n\r\nspoofed body")
    with SmtpReceiver() as smtp:
        connection = smtp.connection(from_email="airflow@loopback.test")
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_LOOPBACK", json.dumps(connection))
        notification(_context(error))
        mails = smtp.mails
    [mail] = mails
    assert mail.recipients == ["data-owner@example.com"]
    assert mail.message["Subject"] == "[failed] ValueError: disk full Bcc: everyone@example.com spoofed body"
    assert mail.message["Bcc"] is None


def test_every_value_a_slack_template_inserts_is_escaped_and_its_own_markup_is_kept(monkeypatch):
    """Not only the notification's facts: a run id, a run's conf, anything a template reads from
    Airflow's context reaches Slack as text (&lt; &gt; &amp;); the template's <!here> stays a mention."""
    from sagemaker_pipelines.airflow.notifiers import Notification

    template = "<!here> {{ run_id }} / {{ dag_run.conf.note }} / {{ notification.exception }}"
    options = {"conn_id": "slack_loopback", "channel": "#ml-alerts", "message": template}
    notification = Notification("chat_custom", "slack", "on_failure", "task", options)
    context = _context(ValueError("<b>&"), run_id="manual__<!channel>", conf={"note": "<@U123> & co"})
    with SlackReceiver() as slack:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_LOOPBACK", json.dumps(slack.connection(token=TOKEN)))
        notification(context)
        calls = slack.calls
    [call] = calls
    assert call.payload["text"] == (
        "<!here> manual__&lt;!channel&gt; / &lt;@U123&gt; &amp; co / ValueError: &lt;b&gt;&amp;"
    )
