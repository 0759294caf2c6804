"""``notify:`` names notifiers of the environment: a name the environment lacks is a problem at its line.

Checked per environment (validate checks every one), so a name that only ``local`` defines fails where
``aws`` is checked, naming the environment file where notifiers are defined.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.format.environment import Environment
from sagemaker_pipelines.format.schema_check import did_you_mean
from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.problems import Code, Problem, field_path

EVENTS = ("on_failure", "on_success", "on_retry")


def _lists(data: dict[str, Any]) -> list[tuple[tuple, Any]]:
    """Every ``notify.<event>`` list: the pipeline's, then each task's, with its document path."""
    places: list[tuple[tuple, Any]] = [((), data.get("notify"))]
    tasks = data.get("tasks")
    if isinstance(tasks, dict):
        places += [(("tasks", tid), t.get("notify")) for tid, t in tasks.items() if isinstance(t, dict)]
    found = []
    for prefix, notify in places:
        if isinstance(notify, dict):
            found += [((*prefix, "notify", e), notify[e]) for e in EVENTS if isinstance(notify.get(e), list)]
    return found


def check_notify(doc: Document, file: str, data: dict[str, Any], environment: Environment) -> list[Problem]:
    """A problem for each notifier name that ``environment`` does not define."""
    known = sorted(environment.notifiers)
    problems = []
    for path, names in _lists(data):
        for i, name in enumerate(names):
            if not isinstance(name, str) or name in environment.notifiers:
                continue
            where = (*path, i)
            line, col = doc.value_position(where)
            message = f"unknown notifier '{name}' in environment '{environment.name}' ({environment.file})"
            listed = (
                f"known: {', '.join(known)}"
                if known
                else f"it defines none: add notifiers: to {environment.file}"
            )
            hint = did_you_mean(name, known) or listed
            problems.append(Problem(file, line, col, field_path(where), message, hint, code=Code.NOTIFY))
    return problems
