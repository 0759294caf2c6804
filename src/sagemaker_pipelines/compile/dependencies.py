"""Which tasks a task waits for: the ones it names in ``depends_on``, the ones its kind's references name
(a model needs its training job first), the ones whose outputs it reads, and the gates that branch to it.
The compiler makes these the DAG's edges; the checks find cycles in them."""

from __future__ import annotations

import re
from typing import Any

from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.kinds.gates import branches_of

_XCOM_PULL = re.compile(r"xcom_pull\(task_ids='([A-Za-z0-9_-]+)'")


def pulled(value: Any, found: list[str]) -> list[str]:
    """Tasks whose XCom a value reads (task outputs, ``${tasks.<id>.<output>}``, become these), in the
    order they are written: a stack, children pushed last first (called for every task several times)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "xcom_pull" in item:
                found += [t for t in _XCOM_PULL.findall(item) if t not in found]
        elif isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def dependencies_of(task_id: str, task: dict, tasks: dict[str, dict]) -> list[str]:
    """Explicit depends_on, the tasks a task refers to (a model needs its training job first) and the
    tasks whose outputs it uses."""
    deps = [d for d in task.get("depends_on") or [] if d in tasks and d != task_id]
    kind = KINDS.get(task.get("kind")) if isinstance(task.get("kind"), str) else None
    for field in kind.references if kind else ():
        target = task.get(field)
        if isinstance(target, str) and target in tasks and target != task_id and target not in deps:
            deps.append(target)
    for target in pulled(task, []):
        if target in tasks and target != task_id and target not in deps:
            deps.append(target)
    for gate, other in tasks.items():  # a gate is the upstream of the tasks it branches to
        if not isinstance(other, dict) or other.get("kind") != "condition":
            continue  # branches_of's own test, without a call per task of the pipeline for every task
        if gate != task_id and task_id in branches_of(other) and gate not in deps:
            deps.append(gate)
    return deps
