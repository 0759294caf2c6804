"""The migrations between format versions (``versions.py`` names the versions).

Migrations are an ordered list, each from one version to the next. A migration says what to change as
:class:`Insert` records computed from the loaded document (never from re-parsed text), so the same
records serve twice: ``validate`` applies them to the document in memory, where every value keeps the
position it has in the file as written, and ``migrate`` (toolkit/migrate.py) turns them into text edits
that keep the file's comments and layout. A migration may only add keys, which keeps every line of the
file as written mappable to the migrated one.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagemaker_pipelines.format.yaml_source import Document, Path_


@dataclass(frozen=True)
class Insert:
    """Add ``key: value`` to the mapping at ``path``: what a migration changes, and why (for people)."""

    path: Path_
    key: str
    value: Any
    why: str


@dataclass(frozen=True)
class Migration:
    """One step, ``source`` to ``target``: the inserts a document needs, and the change in the words of
    the docs. ``old_schema`` turns the next version's editor schema into this step's source version's
    (the schemas of every version derive from the one source schema)."""

    source: str
    target: str
    summary: str
    inserts: Callable[[Any], list[Insert]]
    old_schema: Callable[[dict], dict]


# --- 2026-11 -> 2026-12: start_pipeline and stop_pipeline wait only when asked ---------------------------

PIPELINE_KINDS = ("start_pipeline", "stop_pipeline")
_WAIT = "wait_for_completion"


def _explicit_waiting(data: Any) -> list[Insert]:
    """In 2026-11 a start_pipeline or stop_pipeline task waited unless it said otherwise; from 2026-12 it
    waits only when it says so. A task that relied on the old default says so explicitly."""
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        return []
    inserts = []
    for task_id, task in tasks.items():
        if isinstance(task, dict) and task.get("kind") in PIPELINE_KINDS and _WAIT not in task:
            why = f"task '{task_id}': a {task['kind']} task waited by default in 2026-11"
            inserts.append(Insert(("tasks", task_id), _WAIT, True, why))
    return inserts


def _waiting_default_true(view: dict) -> dict:
    """The 2026-11 schema: the same fields, with the default that version had."""
    view = copy.deepcopy(view)
    for kind in PIPELINE_KINDS:
        field = view.get("$defs", {}).get(f"{kind}_task", {}).get("properties", {}).get(_WAIT)
        if isinstance(field, dict):
            field["default"] = True
            text = re.sub(r"\(false, the default(?=[;)])", "(false", field.get("description", ""))
            field["description"] = text.replace("(true)", "(true, the default)")
    return view


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "2026-11",
        "2026-12",
        "start_pipeline and stop_pipeline tasks wait for the execution only with `wait_for_completion: "
        "true`, as the provider's operators do: neither kind can defer, so waiting by default held a "
        "worker slot for a whole pipeline execution (a pipeline_sensor in mode reschedule does not). "
        "Migrating writes `wait_for_completion: true` into the tasks that relied on the old default.",
        _explicit_waiting,
        _waiting_default_true,
    ),
)


def migrations_from(version: str) -> list[Migration]:
    """The steps from ``version`` to the current one, in order (none for the current version)."""
    steps = [m for m in MIGRATIONS if m.source >= version]
    return sorted(steps, key=lambda m: m.source)


def migrate_in_memory(doc: Document, version: str) -> list[Insert]:
    """Bring ``doc`` from ``version`` to the current version in place; return what was added.

    An added value has no position of its own: a problem about it is reported at the mapping it was
    added to (``Document.position`` walks up to it), which is text the user wrote."""
    done: list[Insert] = []
    for step in migrations_from(version):
        for insert in step.inserts(doc.data):
            target = _at(doc.data, insert.path)
            if isinstance(target, dict) and insert.key not in target:
                target[insert.key] = copy.deepcopy(insert.value)
                done.append(insert)
    return done


def schema_of_version(current_view: dict, version: str) -> dict:
    """The editors' schema of ``version``, derived from the current version's."""
    view = current_view
    for step in reversed(migrations_from(version)):
        view = step.old_schema(view)
    return view


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_list or (isinstance(data, dict) and part in data):
            data = data[part]
        else:
            return None
    return data
