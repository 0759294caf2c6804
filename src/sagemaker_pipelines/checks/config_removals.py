"""``config:`` entries set to ``null`` remove a field the compiler generates (see ``deep_merge``); this
checks, for ``validate``, that each removed field was there to remove.

A ``null`` for a field the request does not have is almost always a misspelling (``StopingCondition:
null``) or a field of another kind: it would silently do nothing, so it is an error naming the fields the
generated request has at that place. A removal AWS cannot accept (a required field) is left to the
botocore request check, which runs on the request as it will be sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sagemaker_pipelines.compile.kinds.context import NAME_KEYS, Pipeline
from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.problems import Problem, field_path

Step = str | tuple[str, str]  # a key, or (name key, name) of an item in a list of named items


def _name_key(items: list) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in NAME_KEYS if all(isinstance(i.get(k), str) for i in items)), None)


def _removals(value: dict, written: tuple = (), request: tuple = ()) -> Iterator[tuple[tuple, tuple]]:
    """(path in the YAML, path in the request) of every ``null`` in a ``config:`` mapping."""
    for key, item in value.items():
        if item is None:
            yield (*written, key), (*request, key)
        elif isinstance(item, dict):
            yield from _removals(item, (*written, key), (*request, key))
        elif isinstance(item, list) and (name_key := _name_key(item)):
            for index, entry in enumerate(item):
                named = (*request, key, (name_key, entry[name_key]))
                yield from _removals(entry, (*written, key, index), named)


def _kept(value: Any) -> Any:
    """The ``config:`` without its removals: what the request is merged with before they apply."""
    if isinstance(value, dict):
        return {k: _kept(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_kept(v) for v in value]
    return value


def _find(request: Any, path: tuple) -> tuple[bool, list[str]]:
    """Whether ``path`` is in the request, and the fields of the deepest mapping reached."""
    for step in path:
        if isinstance(step, tuple) and isinstance(request, list):
            key, name = step
            request = next((i for i in request if isinstance(i, dict) and i.get(key) == name), None)
            if request is None:
                return False, []
        elif isinstance(request, dict) and step in request:
            request = request[step]
        else:
            return False, sorted(request) if isinstance(request, dict) else []
    return True, []


def removal_problems(doc: Document, file: str, pipeline: Pipeline) -> list[Problem]:
    from sagemaker_pipelines.compile.compiler import compile_task

    problems = []
    for task_id, task in pipeline.tasks.items():
        config = task.get("config") if isinstance(task, dict) else None
        removals = list(_removals(config)) if isinstance(config, dict) else []
        if not removals:
            continue
        request = compile_task(pipeline, task_id, {**task, "config": _kept(config)}).kwargs.get("config")
        for written, member in removals:
            found, fields = _find(request, member)
            if found:
                continue
            where = ("tasks", task_id, "config", *written)
            message = f"nothing to remove: the request has no {'.'.join(map(str, written))}"
            hint = "null removes a field the request has; here it has: " + ", ".join(fields) if fields else ""
            problems.append(Problem(file, *doc.position(where), field_path(where), message, hint, "config"))
    return problems
