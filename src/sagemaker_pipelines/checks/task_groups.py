"""Checks of task groups the schema cannot express (see :mod:`sagemaker_pipelines.compile.groups`).

A group name must not be a task id (Airflow keeps both in one namespace), nor the id of a step that
``for_each`` adds (``<task>__items``); every name a task or a ``parent`` gives must be a declared group,
nesting must not loop nor go deeper than Airflow can serialize, a declared group must hold a task,
a task cannot wait for the group it is in, and no dependency cycle may run through groups (a task
waiting for a group waits for all of its tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagemaker_pipelines.compile.fan_out import BUILDER_SUFFIX
from sagemaker_pipelines.compile.groups import ancestors, declared_groups
from sagemaker_pipelines.format.schema_check import did_you_mean

# Groups nested in groups, at most: Airflow builds, compares and serializes a group's chain of parents
# recursively, and about 330 levels exhaust Python's stack in its serializer (fewer in a dag-processor,
# which calls it from deeper down). A limit well below that, and far above any readable graph.
MAX_GROUP_DEPTH = 64


def group_names(data: dict[str, Any]) -> list[str]:
    """The names ``depends_on`` may use besides task ids."""
    return list(declared_groups(data))


def check_task_groups(
    data: dict[str, Any],
    tasks: dict[str, dict],
    add: Callable[..., None],
    task_graph: dict[str, list[str]],
    find_cycle: Callable[[dict[str, list[str]]], list[str] | None],
) -> None:
    """Every group problem of the pipeline, each at the key or value it is about.

    ``task_graph`` is each task's task dependencies and ``find_cycle`` the cycle finder of
    :mod:`.semantics` (passed in: that module calls this one).
    """
    groups = declared_groups(data)
    if not groups:
        return
    declared = isinstance(data.get("task_groups"), dict)
    found: list[tuple] = []

    def report(*args: Any, **kwargs: Any) -> None:
        found.append(args)
        add(*args, **kwargs)

    _names_and_nesting(groups, tasks, declared, report)
    used: set[str] = set()
    for task_id, task in tasks.items():
        name = task.get("task_group") if isinstance(task, dict) else None
        if not isinstance(name, str):
            continue
        if name not in groups:
            hint = did_you_mean(name, list(groups)) or f"task_groups: {', '.join(groups)}"
            report(("tasks", task_id, "task_group"), f"unknown task group '{name}'", hint, value=True)
            continue
        used.update([name, *ancestors(name, groups)])
        _own_group(task_id, task, [name, *ancestors(name, groups)], report)
    _group_dependencies(groups, tasks, report)
    if found:  # an unknown name or a loop leaves groups empty: saying so again would only repeat it
        return
    for name in groups:
        if declared and name not in used and name not in tasks:
            hint = f"add task_group: {name} to a task, or remove the group"
            add(("task_groups", name), f"task group '{name}' has no tasks", hint)
    _cycles(tasks, groups, add, task_graph, find_cycle)


def _names_and_nesting(groups: dict, tasks: dict, declared: bool, add: Callable[..., None]) -> None:
    in_loops: set[str] = set()
    steps = _generated_steps(tasks)
    for name, group in groups.items():
        where = ("task_groups", name) if declared else _first_user(tasks, name)
        if name in tasks:
            add(where, f"'{name}' is both a task and a task group", "Airflow needs distinct ids: rename one")
        elif name in steps:
            message = f"task group '{name}' has the id of the step that for_each of task '{steps[name]}' adds"
            add(
                where,
                message,
                f"Airflow needs distinct ids: rename the group (no name ending in {BUILDER_SUFFIX})",
            )
        parent = group.get("parent")
        if parent is None:
            continue
        path = ("task_groups", name, "parent")
        if parent == name:
            add(path, f"task group '{name}' cannot be nested in itself", value=True)
        elif parent not in groups:
            hint = (
                did_you_mean(parent, [g for g in groups if g != name]) or f"task_groups: {', '.join(groups)}"
            )
            add(path, f"unknown task group '{parent}'", hint, value=True)
        elif name in ancestors(parent, groups) and name not in in_loops:
            chain = [name, *ancestors(name, groups)]
            in_loops.update(chain)  # one problem per loop, at its first group
            add(path, "task groups nested in a loop: " + " in ".join([*chain, name]), value=True)
        elif len(ancestors(name, groups)) == MAX_GROUP_DEPTH and name not in in_loops:  # the first too deep
            message = (
                f"task group '{name}' is nested {MAX_GROUP_DEPTH + 1} deep: at most {MAX_GROUP_DEPTH} levels"
            )
            hint = "Airflow stores groups recursively, and a deeper chain exhausts its stack: nest less"
            add(path, message, hint, value=True)


def _generated_steps(tasks: dict) -> dict[str, str]:
    """The ids of the steps ``for_each`` adds (``<task>__items``), each to the task it belongs to."""
    return {
        f"{task_id}{BUILDER_SUFFIX}": task_id
        for task_id, task in tasks.items()
        if isinstance(task, dict) and "for_each" in task
    }


def _group_dependencies(groups: dict, tasks: dict, add: Callable[..., None]) -> None:
    """A group's own ``depends_on``: known names, and nothing the group holds or is nested in."""
    for name, group in groups.items():
        for i, dep in enumerate(group.get("depends_on") or []):
            path = ("task_groups", name, "depends_on", i)
            chain = [name, *ancestors(name, groups)]
            if dep == name:
                add(path, f"task group '{name}' cannot wait for itself", value=True)
            elif dep not in tasks and dep not in groups:
                hint = did_you_mean(dep, [*tasks, *groups]) or f"tasks: {', '.join(tasks)}"
                add(path, f"depends on unknown task or task group '{dep}'", hint, value=True)
            elif dep in groups and (name in ancestors(dep, groups) or dep in chain):
                message = f"task group '{name}' cannot wait for '{dep}': one is nested in the other"
                add(path, message, "a group waits for what is outside it", value=True)
            elif dep in tasks and (tasks[dep] or {}).get("task_group") in [name, *_nested(name, groups)]:
                message = f"task '{dep}' is in task group '{name}', which cannot wait for it"
                add(path, message, "a group waits for what is outside it", value=True)


def _nested(name: str, groups: dict) -> list[str]:
    return [g for g in groups if name in ancestors(g, groups)]


def _first_user(tasks: dict, name: str) -> tuple:
    task_id = next(
        t for t, task in tasks.items() if isinstance(task, dict) and task.get("task_group") == name
    )
    return ("tasks", task_id, "task_group")


def _own_group(task_id: str, task: dict, enclosing: list[str], add: Callable[..., None]) -> None:
    for i, dep in enumerate(task.get("depends_on") or []):
        if dep in enclosing:
            message = f"task '{task_id}' is in task group '{dep}' and cannot wait for it"
            hint = "a task waiting for a group waits for every task of it, itself included"
            add(("tasks", task_id, "depends_on", i), message, hint, value=True)


def _cycles(tasks: dict, groups: dict, add: Callable[..., None], task_graph: dict, find_cycle) -> None:
    """A cycle through groups, reported only when the tasks alone have none (that one is reported)."""
    if find_cycle(task_graph):
        return
    graph = {t: list(deps) for t, deps in task_graph.items()}
    for task_id, task in tasks.items():
        if isinstance(task, dict):
            own = task.get("task_group")
            enclosing = [own, *ancestors(own, groups)] if isinstance(own, str) else []
            named = [d for d in task.get("depends_on") or [] if d in groups and d not in tasks]
            graph[task_id] += [d for d in named if d not in enclosing]  # waiting for its own: reported
    members: dict[str, list[str]] = {name: [] for name in groups if name not in tasks}
    for task_id, task in tasks.items():
        name = task.get("task_group") if isinstance(task, dict) else None
        if name in members:
            members[name].append(task_id)
    for name, group in groups.items():
        parent = group.get("parent")
        if parent in members and name in members and name not in ancestors(parent, groups):
            members[group["parent"]].append(name)
    for name, group in groups.items():  # a group's own depends_on: what each of its tasks waits for
        upstream = [d for d in group.get("depends_on") or [] if d in graph or d in members]
        for task_id, task in tasks.items():
            own = task.get("task_group") if isinstance(task, dict) else None
            if isinstance(own, str) and name in (own, *ancestors(own, groups)):
                graph[task_id] += upstream
    graph.update(members)
    cycle = find_cycle(graph)
    if not cycle or not any(node in tasks for node in cycle):
        return
    shown = list(reversed(cycle))[:-1]  # the order work happens in; a task comes first
    start = next((i for i, node in enumerate(shown) if node in tasks), 0)
    shown = [*shown[start:], *shown[:start], shown[start]]
    add(
        ("tasks", shown[0]),
        "dependency cycle through task groups: " + " -> ".join(shown),
        "a task waiting for a group waits for all of its tasks, and they for what the group waits for",
    )
