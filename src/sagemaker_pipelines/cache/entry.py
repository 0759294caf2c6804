"""One compile-cache entry: a check result as authenticated JSON, and its strict reading.

The file is ``{"mac": "<hex>", "entry": {...}}``, where the MAC is an HMAC-SHA256 of the entry's exact
bytes and of the cache key it is filed under (so an authentic entry cannot be moved to another
pipeline's key). Reading verifies the MAC before parsing anything, then checks that every field has the
shape this code writes: anything else - a forged or truncated file, another version's layout, valid
JSON such as ``{}`` - is a miss, never an exception.

An entry names no folder of the bundle it was made in: the compiled requests hold absolute paths of
``include/`` files (a script's source, a file to upload), which are stored with the include folder
replaced by a marker and put back on reading with the reader's own. A Git bundle that checks every
version out into a new folder, or the same files baked into another image path, then hits the entries
the last version made; the include files themselves are still compared by content on every hit.

A warm parse reads an entry per DAG file, so an entry is kept small: the parts of ``pre_execute`` guards
that several tasks hold (the environment's guardrails and loopback guard) are written once
(``shared``/``shared_at``) and read back as one object for all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sagemaker_pipelines.checker import CheckResult
from sagemaker_pipelines.compile.compiled import CompiledPipeline
from sagemaker_pipelines.problems import Problem

_HEAD = b'{"mac":"'
_MIDDLE = b'","entry":'
_MAC_CHARS = 64
_PROBLEM_FIELDS = {
    "file": str,
    "line": int,
    "column": int,
    "field": str,
    "message": str,
    "hint": str,
    "code": str,
    "severity": str,
}
_TASK_FIELDS = {
    "task_id": str,
    "kind": str,
    "operator": str,
    "kwargs": dict,
    "depends_on": list,
    "teardown": bool,
    "setups": list,
    "task_group": str,
    "mapped": dict,
}
_PIPELINE_FIELDS = {
    "dag_id": str,
    "file": str,
    "environment": str,
    "dag": dict,
    "tasks": list,
    "task_groups": dict,
}

Fingerprints = dict[str, Any]  # include path -> [size, sha256] of a file, "dir", or None when absent


def _mac(secret: bytes, key: str, body: bytes) -> bytes:
    return hmac.new(secret, key.encode() + b"\n" + body, hashlib.sha256).hexdigest().encode()


# Stands for the include folder inside an entry; NUL never reaches a path, and a result whose text holds
# the marker already is not kept (encode raises ValueError) rather than rebased wrongly.
ROOT_MARKER = "\u0000include-root\u0000"
_ESCAPED_MARKER = json.dumps(ROOT_MARKER)[1:-1]


def encode(
    key: str, result: CheckResult, includes: Fingerprints, secret: bytes, include_root: str = ""
) -> bytes:
    """The entry's bytes; ``include_root``: the include folder, written as the marker wherever it occurs."""
    compiled = result.compiled.as_dict() if result.compiled else None
    shared, shared_at = _share(compiled["tasks"]) if compiled else ([], [])
    entry = {
        "file": result.file,
        "dag_id": result.dag_id,
        "dag_id_at": list(result.dag_id_at),
        "problems": [p.as_dict() for p in result.problems],
        "compiled": compiled,
        "includes": includes,
        "shared": shared,
        "shared_at": shared_at,
    }
    text = json.dumps(entry, separators=(",", ":"))
    if include_root:
        if _ESCAPED_MARKER in text:
            raise ValueError("the result holds the include-folder marker: not kept")
        text = text.replace(json.dumps(include_root)[1:-1], _ESCAPED_MARKER)
    body = text.encode()
    return _HEAD + _mac(secret, key, body) + _MIDDLE + body + b"}"


# Arguments whose equal values tasks may share as one object: the guard markers, which the DAG builder
# turns into (frozen) guards and never hands to an operator. An operator's own arguments stay one
# object per task: a SageMaker operator edits its config in place when it runs.
_SHARED_ARGUMENTS = ("pre_execute",)


def _share(tasks: list[dict[str, Any]]) -> tuple[list[Any], list[list[Any]]]:
    """Write the parts of guards that several tasks hold once (the environment's guardrails and loopback
    guard inside each ``pre_execute``: a third of a typical entry): where they were, ``tasks`` get a
    placeholder (their keys' order stays), and ``shared_at`` lists ``[task index, argument, keys down
    to the part, index in shared]``. Reading puts the one decoded value back in each place, so an entry
    is smaller to read and to keep while its DAG is built."""
    places: dict[str, list[tuple[int, str, list[str], Any]]] = {}
    texts: dict[int, str] = {}  # id -> canonical text: one object (the guardrails) is in every task

    def visit(index: int, argument: str, keys: list[str], value: Any) -> str:
        """The canonical JSON of ``value``, built from its parts' (each object's serialized once); each
        non-empty dict in it, however often its object was seen, is a place."""
        part = isinstance(value, dict) and bool(value)
        inner = [(k, visit(index, argument, [*keys, k], v)) for k, v in value.items()] if part else []
        if (text := texts.get(id(value))) is None:
            if part:
                text = "{" + ",".join(f"{json.dumps(k)}:{t}" for k, t in inner) + "}"
            else:
                text = json.dumps(value, separators=(",", ":"))
            texts[id(value)] = text
        if part:
            places.setdefault(text, []).append((index, argument, keys, value))
        return text

    for index, task in enumerate(tasks):
        for argument in _SHARED_ARGUMENTS:
            visit(index, argument, [], task["kwargs"].get(argument))
    shared: list[Any] = []
    shared_at: list[list[Any]] = []
    taken: list[tuple[Any, ...]] = []  # the places shared so far: no part inside or around them too

    def free(place: tuple[Any, ...]) -> bool:
        return not any(place[: len(t)] == t or t[: len(place)] == place for t in taken)

    for found in sorted(places.values(), key=lambda p: len(p[0][2])):  # outermost parts first
        found = [p for p in found if free((p[0], p[1], *p[2]))]
        if len(found) < 2:
            continue
        shared.append(found[0][3])
        for index, argument, keys, _ in found:
            shared_at.append([index, argument, keys, len(shared) - 1])
            taken.append((index, argument, *keys))
    for index, argument, keys, _ in shared_at:
        # as_dict() shares the kwargs with the compiled pipeline: copy the dicts on the way to the place,
        # and only those (the task's requests stay the same objects, written as they are)
        path = [argument, *keys]
        kwargs = parent = dict(tasks[index]["kwargs"])
        for key in path[:-1]:
            parent[key] = dict(parent[key])
            parent = parent[key]
        parent[path[-1]] = None
        tasks[index] = {**tasks[index], "kwargs": kwargs}
    return shared, shared_at


def _unshare(tasks: list[Any], shared: list[Any], shared_at: list[Any]) -> bool:
    """Put the shared values back (see :func:`_share`); False when a place is not a placeholder."""
    for place in shared_at:
        if not (isinstance(place, list) and len(place) == 4):
            return False
        index, argument, keys, value = place
        if not (_is(index, int) and _is(value, int) and argument in _SHARED_ARGUMENTS):
            return False
        if not (0 <= index < len(tasks) and 0 <= value < len(shared) and isinstance(keys, list)):
            return False
        path = [argument, *keys]
        parent = tasks[index]["kwargs"]
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) and isinstance(key, str) else None
        if not (isinstance(parent, dict) and isinstance(path[-1], str) and parent.get(path[-1], 0) is None):
            return False
        parent[path[-1]] = shared[value]
    return True


def entry_mac(data: bytes) -> bytes:
    """The MAC an entry's bytes carry: it names their content (a marker about an entry cites it)."""
    return data[len(_HEAD) : len(_HEAD) + _MAC_CHARS]


def decode(
    key: str, data: bytes, secret: bytes, include_root: str = ""
) -> tuple[CheckResult, Fingerprints] | None:
    """The result and include fingerprints of an authentic, well-shaped entry, its include paths under
    ``include_root`` (the reader's include folder); None otherwise."""
    start = len(_HEAD) + _MAC_CHARS
    if not (data.startswith(_HEAD) and data[start : start + len(_MIDDLE)] == _MIDDLE and data.endswith(b"}")):
        return None
    body = data[start + len(_MIDDLE) : -1]
    if not hmac.compare_digest(data[len(_HEAD) : start], _mac(secret, key, body)):
        return None
    try:
        text = body.decode()
        if include_root:
            text = text.replace(_ESCAPED_MARKER, json.dumps(include_root)[1:-1])
        entry = json.loads(text)
        return _result(entry)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _shaped(value: Any, fields: dict[str, type]) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(fields)
        and all(_is(value[k], t) for k, t in fields.items())
    )


def _result(entry: Any) -> tuple[CheckResult, Fingerprints] | None:
    fields = {
        "file": str,
        "dag_id": str,
        "dag_id_at": list,
        "problems": list,
        "includes": dict,
        "shared": list,
        "shared_at": list,
    }
    if not (isinstance(entry, dict) and set(entry) == {*fields, "compiled"}):
        return None
    if not all(_is(entry[k], t) for k, t in fields.items()):
        return None
    at = entry["dag_id_at"]
    if len(at) != 2 or not all(_is(n, int) for n in at):
        return None
    if not all(_shaped(p, _PROBLEM_FIELDS) for p in entry["problems"]):
        return None
    if not all(isinstance(k, str) and _fingerprint_shaped(v) for k, v in entry["includes"].items()):
        return None
    compiled = entry["compiled"]
    if compiled is not None and not _pipeline_shaped(compiled):
        return None
    if (compiled is None) == (not entry["problems"]):
        return None  # a result is either compiled or has problems
    if entry["shared_at"] and not (
        compiled and _unshare(compiled["tasks"], entry["shared"], entry["shared_at"])
    ):
        return None
    result = CheckResult(
        entry["file"],
        entry["dag_id"],
        [Problem(**p) for p in entry["problems"]],
        CompiledPipeline.from_dict(compiled) if compiled else None,
        (at[0], at[1]),
        sorted(entry["includes"]),
    )
    return result, entry["includes"]


def _fingerprint_shaped(value: Any) -> bool:
    if value is None or value == "dir":
        return True
    return isinstance(value, list) and len(value) == 2 and _is(value[0], int) and _is(value[1], str)


def _mapped_shaped(mapped: dict) -> bool:
    """for_each (compile/fan_out.py): the argument and either its literal values or a list template (with
    the guardrails its <task>__items step checks, in an environment that has them)."""
    return (
        _shaped(mapped, {"argument": str, "values": list})
        or _shaped(mapped, {"argument": str, "items": str})
        or _shaped(mapped, {"argument": str, "items": str, "guardrails": dict})
    )


def _pipeline_shaped(value: Any) -> bool:
    if not _shaped(value, _PIPELINE_FIELDS):
        return False
    for task in value["tasks"]:
        if not _shaped(task, _TASK_FIELDS):
            return False
        if not all(isinstance(d, str) for d in task["depends_on"] + task["setups"]):
            return False
        if task["mapped"] and not _mapped_shaped(task["mapped"]):
            return False
    groups = value["task_groups"]
    shape = {"doc": (str, type(None)), "parent": (str, type(None)), "depends_on": list}
    if not all(
        _shaped(g, shape) and all(isinstance(d, str) for d in g["depends_on"]) for g in groups.values()
    ):
        return False
    return isinstance(value["dag"].get("default_args", {}), dict)
