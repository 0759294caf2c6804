"""Notifications: the one table of notifier classes a pipeline's ``notify:`` can reach, and our own two.

Compiled pipelines carry notifications as plain markers (``tasks.notifier`` with its arguments: the
notifier's name, its environment ``type`` and options, the event and the level). :class:`Notification`
is what Airflow gets as a callback: when Airflow calls it, it builds a fresh notifier of the class the
table gives for the type (Airflow's notifiers render their template fields in place, so a reused one
would repeat its first message) and calls it. Nothing from YAML names a class or a module: an unknown
type is refused when the DAG is built. Provider modules are imported only when a notification is sent,
so a DAG that never notifies never imports Slack's SDK at parse time.

``file`` and ``log`` are this project's own :class:`~airflow.sdk.bases.notifier.BaseNotifier`
subclasses, for a laptop: a JSON-lines file (one object per notification) and a line in the task log.
Every notification this process sent is kept in :func:`sent`, which ``make run`` prints.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import json
import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

from sagemaker_pipelines.compile.notifications import EVENTS
from sagemaker_pipelines.paths import local_state_dir

# The base of relative ``file`` paths: make run and make airflow set it to their state folder.
NOTIFY_DIR_VARIABLE = "SAGEMAKER_NOTIFY_DIR"
CALLBACK_ARGS = tuple(EVENTS.values())  # the Airflow arguments notify: events compile to
_STATES = {"on_failure": "failed", "on_success": "success", "on_retry": "up_for_retry"}
_MESSAGE = "{{ default_message }}"  # the default: filled in by Python, so an error text is never a template
_EXCEPTION_CHARS = 2000
log = logging.getLogger(__name__)


class FileNotifier(BaseNotifier):
    """Append one JSON object per notification to a file (a relative path is under the state folder)."""

    template_fields = ("message",)

    def __init__(self, *, path: str, message: str = _MESSAGE) -> None:
        super().__init__()
        self.path = path
        self.message = message

    def notify(self, context: Any) -> None:
        target = notify_path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({**context["notification"], "message": self.message}, default=str) + "\n"
        with target.open("a", encoding="utf-8") as out:  # one write per line: appends do not interleave
            out.write(line)


class LogNotifier(BaseNotifier):
    """A warning line in the log of whatever runs the callback: the task's log, or the dag-processor's."""

    template_fields = ("message",)

    def __init__(self, *, message: str = _MESSAGE) -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        log.warning("notification: %s", self.message)


# type -> (module, class, the options it takes -> its keyword arguments, the field holding the message)
NOTIFIER_CLASSES: dict[str, tuple[str, str, dict[str, str], str]] = {
    "sns": (
        "airflow.providers.amazon.aws.notifications.sns",
        "SnsNotifier",
        {
            "topic_arn": "target_arn",
            "subject": "subject",
            "aws_conn_id": "aws_conn_id",
            "region": "region_name",
        },
        "message",
    ),
    "slack": (
        "airflow.providers.slack.notifications.slack",
        "SlackNotifier",
        {"conn_id": "slack_conn_id", "channel": "channel"},
        "text",
    ),
    "email": (
        "airflow.providers.smtp.notifications.smtp",
        "SmtpNotifier",
        {"conn_id": "smtp_conn_id", "to": "to", "from": "from_email", "subject": "subject"},
        "html_content",
    ),
    "file": (__name__, "FileNotifier", {"path": "path"}, "message"),
    "log": (__name__, "LogNotifier", {}, "message"),
}
# type -> how a value put into its message is escaped, where the message is markup: an e-mail's body is
# HTML, and Slack reads <...> as links and mentions (an error text saying <!channel> would ping everyone).
# E-mail: the notification's facts are escaped before its templates see them. Slack: every value any
# template inserts ({{ notification.exception }}, {{ run_id }}, {{ dag_run.conf }}, ...) is escaped as it
# is rendered, while the template's own text (a deliberate <!here>) stays markup.
_SLACK_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ESCAPES = {"email": lambda text: html.escape(text, quote=False)}
_RENDER_ESCAPES = {"slack": lambda value: str(value).translate(_SLACK_CONTROL)}
# type -> its header fields: one line each. An error text's CR/LF in a subject made the SMTP notifier
# refuse the header (the mail was dropped), and SNS refuses a subject with a line break too.
_HEADER_FIELDS = {"email": ("subject", "from_email"), "sns": ("subject",)}
_LINE_BREAKS = re.compile(r"[\r\n]+")
_DEFAULT_SUBJECT = {"email": "Airflow: {{ notification.dag_id }} {{ notification.state }}"}
_TARGETS = {"sns": "topic_arn", "slack": "channel", "email": "to", "file": "path"}

_sent: list[dict[str, Any]] = []
_KEPT = 1000


def sent() -> list[dict[str, Any]]:
    """Every notification this process sent or tried to send, oldest first (``make run`` prints them)."""
    return list(_sent)


def notify_path(path: str) -> Path:
    """Where a ``file`` notifier writes: absolute as written, else under the run's state folder."""
    if os.path.isabs(path):
        return Path(path)
    base = os.environ.get(NOTIFY_DIR_VARIABLE)
    return (Path(base) if base else local_state_dir()) / path


@cache
def _notifier_class(kind: str) -> type:
    module, name, _, _ = NOTIFIER_CLASSES[kind]
    return getattr(importlib.import_module(module), name)


class Notification:
    """One Airflow callback: notifier ``name`` of the environment, for ``event`` at ``level``."""

    def __init__(self, name: str, type: str, event: str, level: str, options: dict[str, Any]) -> None:
        if type not in NOTIFIER_CLASSES:
            raise ValueError(f"notifier {name!r}: type {type!r} is not one of {', '.join(NOTIFIER_CLASSES)}")
        if event not in _STATES:
            raise ValueError(f"notifier {name!r}: unknown event {event!r}")
        unknown = set(options) - set(NOTIFIER_CLASSES[type][2]) - {"message"}
        if unknown:
            raise ValueError(f"notifier {name!r}: {type} takes no {', '.join(sorted(unknown))}")
        self.name, self.type, self.event, self.level, self.options = name, type, event, level, options
        self.dag: Any = None  # the DAG it belongs to (``attach``), for contexts that carry another
        self.__name__ = f"notify {name} {event}"  # Airflow logs a callback by its __name__

    def _key(self) -> tuple:
        return (self.name, self.type, self.event, self.level, self.options)

    def __eq__(self, other: object) -> bool:  # the same notification (make compile's DAGs equal the loader's)
        return isinstance(other, Notification) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(json.dumps(self._key(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        return f"Notification({self.name!r}, {self.type}, {self.event}, {self.level})"

    def notifier(self) -> BaseNotifier:
        """A fresh notifier of the table's class, with the options renamed to its arguments."""
        _, _, renames, message_field = NOTIFIER_CLASSES[self.type]
        kwargs = {renames[k]: v for k, v in self.options.items() if k in renames}
        kwargs[message_field] = self.options.get("message", _MESSAGE)
        if self.type in _DEFAULT_SUBJECT:
            kwargs.setdefault("subject", _DEFAULT_SUBJECT[self.type])
        return _notifier_class(self.type)(**kwargs)

    def __call__(self, context: Any) -> None:
        facts = notification_facts(context, self.event, self.level)
        context = dict(context)
        if context.get("dag") is not None and not hasattr(context["dag"], "get_template_env"):
            # dag.test() (make run) hands run callbacks the serialized DAG, which cannot render templates
            context["dag"] = self.dag if self.dag is not None else _renderable(context["dag"].dag_id)
        escape = _ESCAPES.get(self.type)
        if escape is not None:  # the facts a template sees are text in its markup, never markup themselves
            facts = {k: escape(v) if isinstance(v, str) else v for k, v in facts.items()}
        context["notification"] = facts
        context["default_message"] = default_message(facts)
        record = {"name": self.name, "type": self.type, "event": self.event, "level": self.level}
        record["task_id"] = facts["task_id"] if self.level == "task" else None
        target = self.options.get(_TARGETS.get(self.type, ""), "")
        target = ", ".join(target) if isinstance(target, list) else str(target)
        record["target"] = str(notify_path(target)) if self.type == "file" else target
        try:
            notifier = self.notifier()
            send(notifier, context, self.type)
        except Exception as exc:  # Airflow logs it; the task's state stays what it was
            _remember({**record, "error": f"{type(exc).__name__}: {exc}"[:500]})
            raise
        message_field = NOTIFIER_CLASSES[self.type][3]
        _remember({**record, "message": str(getattr(notifier, message_field, ""))})


def send(notifier: BaseNotifier, context: Any, kind: str) -> None:
    """What ``BaseNotifier.__call__`` does, with this type's escaping while its templates render and its
    header fields made one line before it sends."""
    notifier._update_context(context)  # the notifier's own fields in the context, as Airflow does
    environment = notifier.get_template_env(dag=context.get("dag"))
    if kind in _RENDER_ESCAPES:
        environment = environment.overlay(finalize=_RENDER_ESCAPES[kind])
    notifier.render_template_fields(context, jinja_env=environment)
    for name in _HEADER_FIELDS.get(kind, ()):
        value = getattr(notifier, name, None)
        if isinstance(value, str):
            setattr(notifier, name, _LINE_BREAKS.sub(" ", value).strip())
    notifier.notify(context)


def _remember(record: dict[str, Any]) -> None:
    _sent.append(record)
    del _sent[:-_KEPT]  # a long-lived process keeps the latest only


def _renderable(dag_id: str) -> Any:
    """A DAG to render templates with, for a callback of a DAG file that ``attach`` never saw (``make
    compile``'s plain Python files); pipelines define no macros, so its template environment is the same."""
    from airflow.sdk import DAG

    return DAG(dag_id, schedule=None)


def notification_facts(context: Any, event: str, level: str) -> dict[str, Any]:
    """What a notification says, from Airflow's callback context (a task's, or a DAG run's)."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    exception = context.get("exception")
    error = f"{type(exception).__name__}: {exception}"[:_EXCEPTION_CHARS] if exception is not None else None
    return {
        "event": event,
        "level": level,
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "state": _STATES[event],
        "exception": error,
        "reason": context.get("reason") if level == "pipeline" else None,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def default_message(facts: dict[str, Any]) -> str:
    """Pipeline, task, run, state and error, in one line."""
    what = {"failed": "failed", "success": "succeeded", "up_for_retry": "failed, will retry"}[facts["state"]]
    if facts["level"] == "pipeline":
        text = f"pipeline {facts['dag_id']}: run {facts['run_id']} {what}"
        if facts["state"] == "failed" and facts["task_id"]:
            text += f" (task {facts['task_id']} failed)"
        return text
    text = f"pipeline {facts['dag_id']}: task {facts['task_id']} {what}"
    text += f" (run {facts['run_id']}, try {facts['try_number']})"
    return text + (f": {facts['exception']}" if facts["exception"] else "")


def attach(dag: Any, dag_callbacks: dict[str, list], task_callbacks: dict[str, dict[str, list]]) -> None:
    """Set the callbacks dag-factory never sees (its callback handling imports strings from config).

    A DAG computes ``has_on_*_callback`` once, at creation: it is set again here, since the scheduler
    asks the dag-processor to run a run's callbacks only when the serialized DAG says it has them.
    """
    for arg, callbacks in dag_callbacks.items():
        _belong(callbacks, dag)
        setattr(dag, arg, callbacks)
        setattr(dag, f"has_{arg}", bool(callbacks))
    for task_id, callbacks in task_callbacks.items():
        task = dag.get_task(task_id)
        for arg, values in callbacks.items():
            setattr(task, arg, _belong(list(values), dag))


def _belong(callbacks: list, dag: Any) -> list:
    for callback in callbacks:
        if isinstance(callback, Notification):
            callback.dag = dag
    return callbacks
