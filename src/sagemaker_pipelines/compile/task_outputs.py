"""The ``tasks`` scope of the references: what ``${tasks.<id>.<output>}`` may name, from the kinds' specs.

It lives beside the kinds because an output is a fact of its kind (``Kind.outputs``); ``format`` resolves
references with whatever scopes the ``resolve`` stage hands it (``stages.py``).
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.kinds.outputs import Producer, template
from sagemaker_pipelines.format.references import ReferenceProblem
from sagemaker_pipelines.format.schema_check import did_you_mean

# Task fields read when the DAG is built, never rendered: a run-time value cannot stand there.
_BUILD_TIME_FIELDS = ("kind", "depends_on", "teardown")


class TaskOutputs:
    """The ``tasks`` scope: ``${tasks.<id>.<output>[.<key>...]}`` -> a Jinja template over XCom.

    Checks that the task exists, is not the one asking, and that its kind has that output (with the
    keys it takes); remembers where run-time values stand (``runtime_paths``) for the schema check and
    :func:`unrendered_outputs`.
    """

    def __init__(self, tasks: dict[str, Any], bucket: str, dag_id: str) -> None:
        self.tasks = tasks
        self.bucket = bucket
        self.dag_id = dag_id
        self.runtime_paths: set[tuple] = set()

    def __call__(self, _scope: str, name: str | None, path: tuple) -> tuple[bool, Any, list[str]]:
        task_id, _, rest = (name or "").partition(".")
        output, *keys = rest.split(".") if rest else ("",)
        if not rest:
            raise ReferenceProblem("write ${tasks.<task id>.<output>}", "e.g. ${tasks.train.model_artifacts}")
        self._check_place(path)
        if task_id not in self.tasks:
            hint = did_you_mean(task_id, list(self.tasks)) or f"tasks: {', '.join(self.tasks)}"
            raise ReferenceProblem(f"names unknown task '{task_id}'", hint)
        if path[:2] == ("tasks", task_id):
            raise ReferenceProblem("a task cannot use its own output", "outputs exist once a task has run")
        task = self.tasks[task_id] if isinstance(self.tasks[task_id], dict) else {}
        kind = task.get("kind")
        outputs = KINDS[kind].outputs if isinstance(kind, str) and kind in KINDS else {}
        if output not in outputs:
            known = ", ".join(_shown(n, o.keys) for n, o in outputs.items()) or "none"
            hint = did_you_mean(output, list(outputs)) or f"outputs of {_a(kind)} task: {known}"
            raise ReferenceProblem(f"'{task_id}' is {_a(kind)} task, which has no output '{output}'", hint)
        spec = outputs[output]
        producer = Producer(task_id, task, self.bucket, self.dag_id)
        if keys and spec.keys == "none":
            raise ReferenceProblem(f"'{output}' takes no key", f"write ${{tasks.{task_id}.{output}}}")
        if not keys and spec.keys == "required":
            raise ReferenceProblem(f"'{output}' needs a key", f"e.g. ${{tasks.{task_id}.{output}.<name>}}")
        allowed = spec.names(producer) if spec.names and keys else None
        if allowed is not None and keys[0] not in allowed:
            hint = did_you_mean(keys[0], allowed) or f"declared: {', '.join(allowed) or 'none'}"
            raise ReferenceProblem(f"'{task_id}' declares no {output} '{keys[0]}'", hint)
        self.runtime_paths.add(path)
        return True, template(spec.expression(producer, tuple(keys))), list(self.tasks)

    def _check_place(self, path: tuple) -> None:
        if len(path) < 3 or path[0] != "tasks":
            raise ReferenceProblem(
                "a task output can only be used in a task's fields", "it is known once that task has run"
            )
        task = self.tasks.get(path[1])
        kind = task.get("kind") if isinstance(task, dict) else None
        task_refs = KINDS[kind].references if isinstance(kind, str) and kind in KINDS else {}
        if path[2] in _BUILD_TIME_FIELDS or path[2] in task_refs:
            raise ReferenceProblem(
                f"'{path[2]}' is read when the DAG is built; a task output is only known at run time",
                "name the task itself here" if path[2] in task_refs else "",
            )


def _shown(name: str, keys: str) -> str:
    return {"required": f"{name}.<key>", "optional": f"{name}[.<key>]"}.get(keys, name)


def _a(word: Any) -> str:
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"
