"""``validate``'s checks of ``for_each`` and ``${item}``: what the schema cannot say (see
``compile/fan_out.py`` for what it compiles to and ``docs/fan-out.md``). Called from
``checks/semantics.py``; each problem is (path, message, hint)."""

from __future__ import annotations

import re
from typing import Any

from sagemaker_pipelines.compile.fan_out import (
    BUILDER_SUFFIX,
    FIELD_OUTPUT,
    ITEM,
    PULLED,
    REFUSED_KINDS,
    item_paths,
)

_SOURCE = re.compile(
    r"\$\{\s*(?:params\.(?P<param>[A-Za-z_][A-Za-z0-9_]*)|tasks\.(?P<task>[A-Za-z0-9_-]+)\.[^}]+)\s*\}"
)
_BUILD_TIME = ("kind", "depends_on", "teardown", "for_each")
Found = tuple[tuple, str, str]  # (path, message, hint)


def check(authored: dict[str, Any], data: dict[str, Any]) -> list[Found]:
    """Problems of ``for_each`` and ``${item}`` in a pipeline: ``authored`` is the file as written (to see
    which reference a list came from), ``data`` the same after references were resolved."""
    from sagemaker_pipelines.compile.kinds import KINDS

    tasks = data.get("tasks") if isinstance(data.get("tasks"), dict) else {}
    written = authored.get("tasks") if isinstance(authored.get("tasks"), dict) else {}
    mapped = {t for t, task in tasks.items() if isinstance(task, dict) and "for_each" in task}
    found: list[Found] = []
    for path in sorted(item_paths(data), key=str):
        task = tasks.get(path[1]) if path[:1] == ("tasks",) and len(path) > 2 else None
        kind = KINDS.get(task.get("kind")) if isinstance(task, dict) else None
        if path[1:2] and path[1] in mapped and path[2] in (*_BUILD_TIME, *(kind.references if kind else ())):
            found.append(
                (path, f"'{path[2]}' is read when the DAG is built; ${{item}} is known per element", "")
            )
        elif not (path[1:2] and path[1] in mapped):
            hint = "add for_each: [...] to this task, or write the value itself"
            found.append((path, "${item} is only defined in a task with for_each", hint))
    for task_id in mapped:
        task = tasks[task_id]
        found += _check_task(task_id, task, written.get(task_id) or {}, data, mapped)
    for task_id, task in tasks.items():
        if isinstance(task, dict):
            found += _uses_of_mapped(task_id, task, mapped)
    return found


def _check_task(task_id: str, task: dict, written: dict, data: dict, mapped: set[str]) -> list[Found]:
    base = ("tasks", task_id, "for_each")
    found: list[Found] = []
    if task.get("teardown"):
        found.append((base, "a teardown task cannot have for_each: it cleans up once after its setups", ""))
    if task.get("kind") in REFUSED_KINDS:
        found.append((base, f"a {task['kind']} task cannot have for_each: it decides once per run", ""))
    if f"{task_id}{BUILDER_SUFFIX}" in (data.get("tasks") or {}):
        found.append((base, f"a task '{task_id}{BUILDER_SUFFIX}' exists: for_each needs that id", ""))
    uses = [m for _, v in _strings(task) for m in ITEM.finditer(v)]
    source = written.get("for_each")
    if isinstance(source, list):
        return found + _check_elements(base, source, uses, "this list")
    match = _SOURCE.fullmatch(source.strip()) if isinstance(source, str) else None
    if match is None:
        hint = "write a list, ${params.<name>} (type: array) or ${tasks.<id>.<output>}"
        return [*found, (base, "for_each takes a list or one reference to a list", hint)]
    resolved = task.get("for_each")
    plain = isinstance(resolved, str) and FIELD_OUTPUT.fullmatch(resolved.strip())
    if match["task"] in mapped and not plain:
        hint = "a plain field output of it is (job_name, model_artifacts, result[.<key>]); metrics are not"
        return [
            *found,
            (
                base,
                f"'{match['task']}' is mapped (for_each): this output is no list over its instances",
                hint,
            ),
        ]
    if match["param"]:
        spec = (data.get("params") or {}).get(match["param"])
        if isinstance(spec, dict) and spec.get("type") != "array":
            hint = f"give params.{match['param']} type: array"
            what = f"a param of type {spec.get('type')}" if spec.get("type") else "a param without a type"
            return [*found, (base, f"'{match['param']}' is {what}; for_each needs a list", hint)]
        if isinstance(spec, dict) and isinstance(spec.get("default"), list) and spec["default"]:
            what = f"the default of params.{match['param']}"
            found += _check_elements(base, spec["default"], uses, what, literal=False)
    return found


def _check_elements(
    base: tuple, elements: list, uses: list[re.Match], what: str, literal: bool = True
) -> list[Found]:
    """One shape for every element (all scalars, or all mappings with the same keys), and every
    ``${item...}`` the task writes present in each of them; located at the element when it is written
    in the task (``literal``)."""

    def at(i: int) -> tuple:
        return (*base, i) if literal else base

    if not elements:
        return [(base, f"{what} is empty: the task would never run", "give at least one element")]
    maps = [isinstance(e, dict) for e in elements]
    if any(maps) and not all(maps):
        first = maps.index(not maps[0])
        return [
            (at(first), f"element {first} of {what} is not of the shape of element 0", "one shape for all")
        ]
    if not all(maps):
        keyed = [m for m in uses if m["key"]]
        if keyed:
            hint = "the elements are scalars: write ${item}"
            return [(base, f"the task uses ${{item.{keyed[0]['key']}}} but {what} holds no mappings", hint)]
        return []
    found: list[Found] = []
    keys = set(elements[0])
    if any(m["key"] is None for m in uses):
        hint = f"keys: {', '.join(sorted(keys))}"
        found.append((base, f"{what} holds mappings: write ${{item.<key>}}", hint))
    reported: set[int] = set()
    for key in sorted({m["key"] for m in uses if m["key"]}):
        missing = [i for i, e in enumerate(elements) if key not in e]
        if missing:
            hint = f"keys: {', '.join(sorted(keys))}"
            message = f"${{item.{key}}}: element {missing[0]} of {what} has no key '{key}'"
            found.append((at(missing[0]), message, hint))
            reported.add(missing[0])
    for i, element in enumerate(elements[1:], 1):
        if set(element) != keys and i not in reported:
            shown = ", ".join(sorted(set(element) ^ keys))
            found.append((at(i), f"element {i} of {what} has other keys than element 0 ({shown})", ""))
            break
    return found


def _uses_of_mapped(task_id: str, task: dict, mapped: set[str]) -> list[Found]:
    """A mapped task has one result per element: refuse single-valued uses of it downstream."""
    from sagemaker_pipelines.compile.kinds import KINDS

    found: list[Found] = []
    kind = KINDS.get(task.get("kind")) if isinstance(task.get("kind"), str) else None
    hint = "a mapped task has one result per element; only depends_on may name it"
    for field in kind.references if kind else ():
        if task.get(field) in mapped:
            path = ("tasks", task_id, field)
            found.append((path, f"'{task[field]}' is mapped (for_each): it has no single result", hint))
    for path, text in _strings(task, ("tasks", task_id)):
        if path[2] == "for_each":
            continue  # checked with its task
        for target in sorted(set(PULLED.findall(text)) & mapped):
            found.append((path, f"'{target}' is mapped (for_each): its outputs are one per element", hint))
    return found


def _strings(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Every string in ``value`` with its path."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, (*path, k))]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, (*path, i))]
    return [(path, value)] if isinstance(value, str) else []
