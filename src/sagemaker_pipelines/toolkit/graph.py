"""``graph``: a pipeline's task graph as SVG and PNG (Graphviz) and as Mermaid text.

Each node shows the task id, its kind and, for SageMaker jobs and endpoints, the instance type; its colour
says what the task does, and a legend names the colours the graph uses. The Mermaid file renders in
GitHub Markdown and needs no Graphviz; SVG and PNG need the ``dot`` binary.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_pipelines.compile.assets import S3_EVENTS, asset_uri, scheduled_on, watcher
from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.toolkit.lineage import datasets

# Node colours by what a task does (its kind spec's ``graph``): (fill, border).
_STYLES = {
    "job": ("#dbeafe", "#1d4ed8"),
    "hosting": ("#dcfce7", "#15803d"),
    "sensor": ("#fef9c3", "#a16207"),
    "data": ("#f3f4f6", "#4b5563"),
    "asset": ("#fae8ff", "#a21caf"),
    "watcher": ("#ffedd5", "#c2410c"),
    "lineage": ("#ffffff", "#6b7280"),
}
# What the legend calls each group.
_MEANING = {
    "job": "SageMaker job: training, tuning, processing, transform",
    "hosting": "model, endpoint config, endpoint",
    "sensor": "sensor: waits for a job, an endpoint or a file",
    "data": "Python, S3 and warehouse tasks",
    "asset": "asset: what starts the pipeline (dashed, into its first tasks) or what a task publishes",
    "watcher": "watcher: the SQS queue whose messages (S3 events) update the asset, read by the triggerer",
    "lineage": "S3 location a SageMaker task reads (dotted, into it) or writes (out of it): its lineage",
}
_HOW_TO_READ = "each box: task id, kind, instance type; an arrow runs from a task to one that waits for it"


def legend(compiled: CompiledPipeline) -> list[tuple[str, str]]:
    """(group, meaning) of each group the pipeline's tasks fall in, in a fixed order."""
    present = {group(t.kind) for t in compiled.tasks}
    if asset_edges(compiled):
        present.add("asset")
    if watcher_edge(compiled):
        present.add("watcher")
    if any(node.startswith("s3_") for node in _lineage_ids(compiled).values()):
        present.add("lineage")
    return [(name, meaning) for name, meaning in _MEANING.items() if name in present]


def group(kind: str) -> str:
    return KINDS[kind].graph.value


def instance_type(task: CompiledTask) -> str | None:
    """The first ``InstanceType`` in the task's request (training, transform, processing, endpoint)."""

    def find(value: Any) -> str | None:
        if isinstance(value, dict):
            if isinstance(value.get("InstanceType"), str):
                return value["InstanceType"]
            values = list(value.values())
        elif isinstance(value, list):
            values = value
        else:
            return None
        for item in values:
            found = find(item)
            if found:
                return found
        return None

    return find(task.kwargs.get("config") or task.mapped.get("values"))  # mapped: for_each values


def fan_out_label(task: CompiledTask) -> str:
    """A mapped task's box says so: "for_each x3" for a literal list, "for_each (run time)" otherwise."""
    values = task.mapped.get("values")
    return f"for_each x{len(values)}" if values is not None else "for_each (run time)"


def asset_edges(compiled: CompiledPipeline) -> list[tuple[str, str, str]]:
    """(asset URI, task id, "in" or "out") for each asset the schedule waits on, into each first task
    (none of its own upstream tasks), and for each asset a task publishes, out of that task."""
    firsts = [t.task_id for t in compiled.tasks if not t.depends_on]
    edges = [(uri, task_id, "in") for uri in scheduled_on(compiled.dag.get("schedule")) for task_id in firsts]
    edges += [(uri, t.task_id, "out") for t in compiled.tasks for uri in t.kwargs.get("outlets", [])]
    return edges


def watcher_edge(compiled: CompiledPipeline) -> tuple[str, str, str] | None:
    """(queue URL, asset URI, what arrives) of the schedule's watcher, if it has one."""
    watched = watcher(compiled.dag.get("schedule"))
    if watched is None:
        return None
    return watched["queue"], watched["asset"], "S3 events" if S3_EVENTS in watched else "messages"


def lineage_edges(compiled: CompiledPipeline) -> list[tuple[str, str, str]]:
    """(S3 location, task id, "in" or "out") for what each SageMaker task reads and writes, as ``render``
    lists it and its OpenLineage events name it (``toolkit/lineage.py``). A run-time part of a location
    (a job name taken from another task's result) is shown as ``…``."""
    edges = [(_shown(uri), task_id, direction) for task_id, uri, direction in datasets(compiled)]
    drawn = set(asset_edges(compiled))  # a published asset's edge already says the task writes it
    return [edge for edge in dict.fromkeys(edges) if edge not in drawn]


def _shown(location: str) -> str:
    return asset_uri(re.sub(r"\{\{.*?\}\}", "…", location))


def _lineage_ids(compiled: CompiledPipeline) -> dict[str, str]:
    """The node of each location: the asset's where it is one of the graph's assets, else its own."""
    assets = _asset_ids(compiled)
    uris = dict.fromkeys(uri for uri, _, _ in lineage_edges(compiled))
    own = [uri for uri in uris if uri not in assets]
    return {uri: assets.get(uri) or f"s3_{own.index(uri)}" for uri in uris}


def _asset_ids(compiled: CompiledPipeline) -> dict[str, str]:
    uris = dict.fromkeys(uri for uri, _, _ in asset_edges(compiled))
    return {uri: f"asset_{i}" for i, uri in enumerate(uris)}


def _node_id(task_id: str) -> str:
    """A Mermaid-safe node id ('end' and '-' would confuse its parser)."""
    return "t_" + re.sub(r"[^A-Za-z0-9_]", "_", task_id)


def _children(compiled: CompiledPipeline) -> dict[str | None, tuple[list[str], list[CompiledTask]]]:
    """Task groups as a tree: for each group (None: the DAG itself), its child groups and its tasks."""
    tree: dict[str | None, tuple[list[str], list[CompiledTask]]] = {None: ([], [])}
    for name in compiled.task_groups:
        tree[name] = ([], [])
    for name, spec in compiled.task_groups.items():
        tree[spec.get("parent")][0].append(name)
    for task in compiled.tasks:
        tree[task.task_group or None][1].append(task)
    return tree


def _mermaid_nodes(compiled: CompiledPipeline, ids: dict[str, str]) -> list[str]:
    """Each task's node, inside nested ``subgraph`` blocks for its task groups."""
    tree = _children(compiled)
    lines: list[str] = []

    def emit(group: str | None, indent: str) -> None:
        groups, tasks = tree[group]
        for task in tasks:
            parts = [task.task_id, task.kind, *([fan_out_label(task)] if task.mapped else [])]
            if instance_type(task):
                parts.append(instance_type(task))
            label = "<br/>".join(p.replace('"', "#quot;") for p in parts)
            lines.append(f'{indent}{ids[task.task_id]}["{label}"]')
        for child in groups:
            lines.append(f'{indent}subgraph {_group_id(child)}["{child} (task group)"]')
            emit(child, indent + "    ")
            lines.append(f"{indent}end")

    emit(None, "    ")
    return lines


def _group_id(name: str) -> str:
    return "g_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(compiled: CompiledPipeline) -> str:
    lines = ["flowchart LR"]
    ids = {t.task_id: _node_id(t.task_id) for t in compiled.tasks}
    lines += _mermaid_nodes(compiled, ids)
    for task in compiled.tasks:
        for upstream in task.depends_on:
            lines.append(f"    {ids[upstream]} --> {ids[task.task_id]}")
    assets = _asset_ids(compiled)
    lines += [f'    {node}[("{uri}")]' for uri, node in assets.items()]  # a cylinder per asset
    for uri, task_id, direction in asset_edges(compiled):
        pair = (assets[uri], ids[task_id]) if direction == "in" else (ids[task_id], assets[uri])
        lines.append(f"    {pair[0]} -.-> {pair[1]}")
    if edge := watcher_edge(compiled):  # a flag-shaped node: the queue, into the asset it feeds
        queue, uri, what = edge
        lines.append(f'    watcher>"{queue}"]')
        lines.append(f'    watcher -. "{what}" .-> {assets[uri]}')
    locations = _lineage_ids(compiled)
    own = {uri: node for uri, node in locations.items() if node.startswith("s3_")}
    lines += [f'    {node}[/"{uri.replace(chr(34), "#quot;")}"/]' for uri, node in own.items()]
    for uri, task_id, direction in lineage_edges(compiled):
        pair = (locations[uri], ids[task_id]) if direction == "in" else (ids[task_id], locations[uri])
        lines.append(f"    {pair[0]} -.-> {pair[1]}")
    lines.append('    subgraph legend["Legend"]')
    lines.append("        direction TB")
    lines.append(f'        legend_read["{_HOW_TO_READ}"]')
    lines.extend(f'        legend_{name}["{meaning}"]' for name, meaning in legend(compiled))
    lines.append("    end")
    for name, (fill, stroke) in _STYLES.items():
        members = [ids[t.task_id] for t in compiled.tasks if group(t.kind) == name]
        members += list(assets.values()) if name == "asset" else []
        members += ["watcher"] if name == "watcher" and watcher_edge(compiled) else []
        members += list(own.values()) if name == "lineage" else []
        if members:
            lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:#111827")
            lines.append(f"    class {','.join([*members, f'legend_{name}'])} {name}")
    lines.append("    style legend_read fill:#ffffff,stroke:#ffffff,color:#374151")
    return "\n".join(lines) + "\n"


def digraph(compiled: CompiledPipeline):
    """The graph as a ``graphviz.Digraph`` (left to right, one rounded box per task, the legend below)."""
    import graphviz

    dot = graphviz.Digraph(compiled.dag_id, comment=f"{compiled.dag_id} ({compiled.file})")
    dot.attr(rankdir="LR", fontname="Helvetica", label=_legend_label(compiled), labelloc="b")
    dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="12")
    dot.attr("edge", color="#6b7280", arrowsize="0.8")
    with dot.subgraph(name="cluster_tasks") as tasks:  # a frameless box: the DAG id on top
        tasks.attr(label=compiled.dag_id, labelloc="t", fontsize="16", penwidth="0")
        _dot_nodes(tasks, _children(compiled), None)
    for task in compiled.tasks:
        for upstream in task.depends_on:
            dot.edge(upstream, task.task_id)
    fill, stroke = _STYLES["asset"]
    for uri, node in _asset_ids(compiled).items():
        dot.node(
            node, label=uri, shape="cylinder", style="filled", fillcolor=fill, color=stroke, fontsize="10"
        )
    for uri, task_id, direction in asset_edges(compiled):
        node = _asset_ids(compiled)[uri]
        tail, head = (node, task_id) if direction == "in" else (task_id, node)
        dot.edge(tail, head, style="dashed", color=stroke)
    if edge := watcher_edge(compiled):
        queue, uri, what = edge
        fill, stroke = _STYLES["watcher"]
        dot.node(
            "watcher", label=queue, shape="cds", style="filled", fillcolor=fill, color=stroke, fontsize="10"
        )
        dot.edge("watcher", _asset_ids(compiled)[uri], label=what, style="dashed", color=stroke, fontsize="9")
    fill, stroke = _STYLES["lineage"]
    locations = _lineage_ids(compiled)
    for uri, node in locations.items():
        if node.startswith("s3_"):  # not an asset, drawn above
            dot.node(
                node, label=uri, shape="note", style="filled", fillcolor=fill, color=stroke, fontsize="9"
            )
    for uri, task_id, direction in lineage_edges(compiled):
        tail, head = (locations[uri], task_id) if direction == "in" else (task_id, locations[uri])
        dot.edge(tail, head, style="dotted", color=stroke, arrowsize="0.6")
    return dot


def _dot_nodes(graph: Any, tree: dict, group_name: str | None) -> None:
    """The tasks of one group, then each child group as a nested dashed cluster."""
    groups, tasks = tree[group_name]
    for task in tasks:
        fill, stroke = _STYLES[group(task.kind)]
        detail = task.kind + (f"<br/>{html.escape(instance_type(task))}" if instance_type(task) else "")
        detail += f"<br/>{html.escape(fan_out_label(task))}" if task.mapped else ""
        label = f'<<b>{html.escape(task.task_id)}</b><br/><font point-size="10">{detail}</font>>'
        graph.node(task.task_id, label=label, fillcolor=fill, color=stroke)
    for child in groups:
        with graph.subgraph(name=f"cluster_{_group_id(child)}") as cluster:
            cluster.attr(label=f"{child} (task group)", labelloc="t", fontsize="12", penwidth="1")
            cluster.attr(style="rounded,dashed", color="#9ca3af")
            _dot_nodes(cluster, tree, child)


def _legend_label(compiled: CompiledPipeline) -> str:
    """The legend as a Graphviz HTML label: one coloured cell per group, and how to read a box."""
    cells = "".join(
        f'<td bgcolor="{_STYLES[name][0]}" color="{_STYLES[name][1]}" border="1" cellpadding="5">'
        f"{html.escape(meaning)}</td>"
        for name, meaning in legend(compiled)
    )
    span = len(legend(compiled)) or 1
    how = f'<tr><td colspan="{span}"><font color="#374151">{html.escape(_HOW_TO_READ)}</font></td></tr>'
    return f'<<font point-size="10"><table border="0" cellspacing="6"><tr>{cells}</tr>{how}</table></font>>'


@dataclass
class Written:
    paths: list[Path] = field(default_factory=list)
    mermaid: str = ""
    dot_missing: bool = False


def write_graphs(compiled: CompiledPipeline, out: Path) -> Written:
    """``<out>/<dag_id>.mmd``, and ``.svg`` and ``.png`` when Graphviz's ``dot`` is installed."""
    out.mkdir(parents=True, exist_ok=True)
    written = Written(mermaid=mermaid(compiled))
    mmd = out / f"{compiled.dag_id}.mmd"
    mmd.write_text(written.mermaid, encoding="utf-8")
    written.paths.append(mmd)
    if shutil.which("dot") is None:
        written.dot_missing = True
        return written
    import graphviz

    dot = digraph(compiled)
    for fmt in ("svg", "png"):
        path = out / f"{compiled.dag_id}.{fmt}"
        if fmt == "png":  # sharper bitmap; SVG scales by itself
            dot.attr(dpi="144")
        try:
            path.write_bytes(dot.pipe(format=fmt))
        except graphviz.ExecutableNotFound:  # pragma: no cover - removed between which() and here
            written.dot_missing = True
            return written
        written.paths.append(path)
    return written
