"""Task groups: which group each task is shown in, nesting, and what depending on a group means.

A task joins a group with ``task_group: <name>``; the pipeline's optional ``task_groups:`` map gives a
group its tooltip (``doc``) and the group it is nested in (``parent``). Without the map, every name a
task gives is a top-level group. Groups only change how Airflow draws the DAG: task ids stay exactly
as written (Airflow's ``prefix_group_id=False``), because other tasks, ``${tasks.<id>...}`` references,
XCom pulls, ``make run``'s summary and job names all use them.

``depends_on: [<group>]`` means Airflow's own ``group >> task``: the task waits for the group's leaves,
its tasks that no other task of the group waits for; a group's own ``depends_on`` is ``upstream >>
group``: its roots wait. The compiler writes those tasks into each task's ``depends_on``, so the graph
everything else reads (cycles, render, graph, the DAG) is one of tasks.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any

from sagemaker_pipelines.compile.fan_out import BUILDER_SUFFIX

Groups = dict[str, dict[str, Any]]  # name -> {"doc": str | None, "parent": str | None, "depends_on": [...]}


def declared_groups(data: dict[str, Any]) -> Groups:
    """The pipeline's groups, in file order: ``task_groups:`` when given, else the names tasks use."""
    spec = data.get("task_groups")
    if isinstance(spec, dict):
        return {
            name: {
                "doc": (g or {}).get("doc"),
                "parent": (g or {}).get("parent"),
                "depends_on": list((g or {}).get("depends_on") or []),
            }
            for name, g in spec.items()
            if isinstance(g, dict) or g is None
        }
    groups: Groups = {}
    tasks = data.get("tasks")
    for task in tasks.values() if isinstance(tasks, dict) else ():
        name = task.get("task_group") if isinstance(task, dict) else None
        if isinstance(name, str):
            groups.setdefault(name, {"doc": None, "parent": None, "depends_on": []})
    return groups


def ancestors(name: str, groups: Groups) -> list[str]:
    """The groups ``name`` is nested in, innermost first (stops at a parent cycle, which validate reports)."""
    found: list[str] = []
    parent = (groups.get(name) or {}).get("parent")
    while isinstance(parent, str) and parent in groups and parent not in found and parent != name:
        found.append(parent)
        parent = groups[parent].get("parent")
    return found


def members(group: str, task_groups: dict[str, str | None], groups: Groups) -> list[str]:
    """Tasks in ``group`` or in a group nested in it, in file order."""
    return [
        t for t, g in task_groups.items() if g is not None and (g == group or group in ancestors(g, groups))
    ]


def leaves(
    group: str,
    task_groups: dict[str, str | None],
    depends_on: dict[str, list[str]],
    groups: Groups,
    teardowns: frozenset[str] = frozenset(),
) -> list[str]:
    """The group's tasks that no other task of the group waits for (Airflow's ``TaskGroup.get_leaves``).

    ``depends_on`` holds each task's task dependencies and the groups it names; a dependency of a
    member on a group nested in ``group`` is an edge inside it, to that group's own leaves. As in
    Airflow, a teardown is never a leaf and does not hide the work it cleans up after.
    """
    inside = members(group, task_groups, groups)
    waited_for: set[str] = set()
    for task in inside:
        if task in teardowns:
            continue
        for dep in depends_on.get(task, []):
            if dep in groups:
                if group in ancestors(dep, groups):
                    waited_for.update(leaves(dep, task_groups, depends_on, groups, teardowns))
            else:
                waited_for.add(dep)
    return [t for t in inside if t not in waited_for and t not in teardowns]


def roots(
    group: str, task_groups: dict[str, str | None], named: dict[str, list[str]], groups: Groups
) -> list[str]:
    """The group's tasks that wait for no other task of it (what ``task >> group`` makes wait)."""
    inside = members(group, task_groups, groups)
    nested = {g for g in groups if group in ancestors(g, groups)}
    return [t for t in inside if not any(d in inside or d in nested for d in named.get(t, []))]


def apply_groups(compiled: Any, data: dict[str, Any]) -> None:
    """Set each compiled task's group; turn every group a task or a group depends on into tasks.

    ``compiled`` is a :class:`~sagemaker_pipelines.compile.compiler.CompiledPipeline` whose tasks carry
    their task dependencies; pipelines without groups are left as they are. A group's own
    ``depends_on`` becomes a dependency of its roots (Airflow's ``upstream >> group``); a group named
    in any ``depends_on`` becomes its leaves.
    """
    groups = declared_groups(data)
    if not groups:
        return
    tasks = data["tasks"]
    task_groups = {t.task_id: tasks[t.task_id].get("task_group") for t in compiled.tasks}
    named = {
        t.task_id: [*t.depends_on, *(d for d in tasks[t.task_id].get("depends_on") or [] if d in groups)]
        for t in compiled.tasks
    }
    for name, group in groups.items():
        upstream = [d for d in group["depends_on"] if d in groups or d in named]
        for root in roots(name, task_groups, named, groups) if upstream else ():
            named[root] += [d for d in upstream if d not in named[root]]
    teardowns = frozenset(t for t, task in tasks.items() if task.get("teardown"))
    for task in compiled.tasks:
        for dep in named[task.task_id]:
            targets = leaves(dep, task_groups, named, groups, teardowns) if dep in groups else [dep]
            task.depends_on += [d for d in targets if d != task.task_id and d not in task.depends_on]
        task.task_group = task_groups[task.task_id] or ""
    compiled.task_groups = {
        name: {"doc": g["doc"], "parent": g["parent"], "depends_on": g["depends_on"]}
        for name, g in groups.items()
    }


def dag_factory_groups(compiled: Any, config: dict[str, Any]) -> list[tuple[str, str]]:
    """Put the groups into dag-factory's config; the edges the caller must set once the DAG is built.

    dag-factory's ``task_groups`` make real TaskGroups (nested by ``parent_group_name``), but its
    dependency step looks grouped tasks up as ``<group>.<task>``, which ``prefix_group_id=False`` (our
    unprefixed ids) never makes; so a grouped pipeline's edges are set by :func:`set_edges` instead.
    """
    if not compiled.task_groups:
        return []
    config["task_groups"] = {
        name: {
            "prefix_group_id": False,
            **({"tooltip": g["doc"]} if g.get("doc") else {}),
            **({"parent_group_name": g["parent"]} if g.get("parent") else {}),
        }
        for name, g in compiled.task_groups.items()
    }
    group_of = {task.task_id: task.task_group for task in compiled.tasks}
    edges, graph = [], {}
    for task_id, entry in config["tasks"].items():
        # a for_each task's <task>__items step (compile/fan_out.py) goes in the group of its task
        group = group_of.get(task_id) or group_of.get(task_id.removesuffix(BUILDER_SUFFIX))
        if group:
            entry["task_group_name"] = group
        graph[task_id] = entry.pop("dependencies", [])
        edges += [(upstream, task_id) for upstream in graph[task_id]]
    # dag-factory makes tasks in the config's order once it has no dependencies to sort by: upstream
    # tasks first still, for what looks an upstream task up while it is made (mapped tasks' inputs)
    order = TopologicalSorter(graph).static_order()
    config["tasks"] = {task_id: config["tasks"][task_id] for task_id in order}
    return edges


def set_edges(dag: Any, edges: list[tuple[str, str]]) -> None:
    """``upstream >> downstream`` for each edge, by the tasks' (unprefixed) ids."""
    for upstream, downstream in edges:
        dag.get_task(downstream).set_upstream(dag.get_task(upstream))
