"""``for_each:``: one task run once per element of a list, compiled to Airflow's dynamic task mapping.

A task's fields use the element as ``${item}`` (a scalar element, keeping its type when it is the whole
string) or ``${item.<key>}`` (a field of a mapping element). The list is one of:

- a literal list: the task is compiled once per element, each request checked against botocore, and the
  argument that differs (a SageMaker ``config``, a Python task's ``op_kwargs``) is expanded over the
  literal values - which Airflow renders per mapped index, so ``{{ params.x }}`` and task outputs in
  them still render;
- ``${params.<name>}`` (``type: array``) or ``${tasks.<id>.<output>}``: known at run time only. The task is
  compiled once with the ``${item}`` markers left in; a ``<task>__items`` step (``airflow/mapping.py``)
  renders that template with Airflow's own templating, then puts each element in (elements are never
  rendered: run-time data is not a template), and the task is expanded over what that step returns.

Job names get ``-<map index>`` before the run suffix, within SageMaker's limit for every index.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from sagemaker_pipelines.compile.kinds.context import RUN_SUFFIX

# ``:text`` is written by the compiler only (a field the kind turns into text, such as a hyperparameter);
# the reference grammar refuses it in a pipeline file.
ITEM = re.compile(r"\$\{\s*item(?:\.(?P<key>[A-Za-z_][A-Za-z0-9_]*))?(?P<text>:text)?\s*\}")
_PROBE = 918273645  # a sample element: where it comes back as text, the kind stringifies the field
MAP_INDEX = "${map_index}"  # filled in by the <task>__items step: the element's index
TRY_NUMBER = "${try_number}"  # filled in by the mapped task itself (mapping.MappedTry): retries get new names
TRY_TEMPLATE = "{{ ti.try_number }}"
BUILDER_SUFFIX = "__items"
# Arguments a mapped task expands over when no argument differs between elements, in this order.
_PREFERRED = ("config", "op_kwargs", "job_name")
_NAME_LIMITS = {"HyperParameterTuningJobName": 32}  # other SageMaker names take 63 characters
_SUFFIX_BUDGET = 20  # as context.job_name: "-" + ts_nodash (15) + "-" + try number (up to 3)
RUNTIME_INDEX_BUDGET = 5  # "-" + up to 4 digits: Airflow's max_map_length is 1024
REFUSED_KINDS = ("condition",)  # a gate chooses branches once; one gate per element makes no sense


PULLED = re.compile(r"xcom_pull\(task_ids='([A-Za-z0-9_-]+)'")  # a task output, as resolved
# ${tasks.<id>.<output>} as the references resolve a plain field of what a task returned.
FIELD_OUTPUT = re.compile(
    r"\{\{ ti\.xcom_pull\(task_ids='(?P<task>[A-Za-z0-9_-]+)'\)(?P<path>(?:\['[^'\]]*'\])*) \}\}"
)


def items_of(for_each: str, tasks: dict[str, Any]) -> str:
    """The template of a run-time list. An output of a mapped task is one value per instance: it
    becomes the list of that field over all of them (``xcom_pull`` of a task id list is always a list,
    in map index order), rendered as JSON."""
    match = FIELD_OUTPUT.fullmatch(for_each.strip())
    upstream = tasks.get(match["task"]) if match else None
    if not (isinstance(upstream, dict) and "for_each" in upstream):
        return for_each
    keys = re.findall(r"\['([^'\]]*)'\]", match["path"])
    pick = f" | map(attribute='{'.'.join(keys)}')" if keys else ""
    return "{{ ti.xcom_pull(task_ids=['" + match["task"] + "'])" + pick + " | list | tojson }}"


class FanOutError(ValueError):
    """A for_each task that cannot be mapped: its elements change more than one operator argument, or
    its ``name`` leaves no room for the map index; ``field`` is the task field to report it at."""

    def __init__(self, message: str, field: str = "for_each") -> None:
        super().__init__(message)
        self.field = field


def _check_name(task: dict[str, Any], elements: list[Any] | None, width: int) -> None:
    """A written ``name`` (per element) plus ``-<index>`` and the run suffix fits SageMaker's limit; an
    index is never made room for by cutting a name the user wrote."""
    if not isinstance(task.get("name"), str):
        return
    limit = 32 if task.get("kind") == "tuning" else 63
    cap = limit - _SUFFIX_BUDGET - width
    for item in elements if elements is not None else [None]:
        name = put_item(task["name"], item) if elements is not None else task["name"]
        if isinstance(name, str) and len(name) > cap:
            index = "-" + "9" * (width - 1)
            raise FanOutError(
                f"'{name}' is {len(name)} characters; with for_each's index ('{index}') and the run suffix "
                f"at most {cap} fit in SageMaker's {limit}",
                field="name",
            )


def is_literal(for_each: Any) -> bool:
    return isinstance(for_each, list)


def put_item(value: Any, item: Any) -> Any:
    """``value`` with ``${item}``/``${item.<key>}`` replaced by (a field of) ``item``; a string that is one
    whole reference takes the element's own type."""
    if isinstance(value, dict):
        return {k: put_item(v, item) for k, v in value.items()}
    if isinstance(value, list):
        return [put_item(v, item) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = ITEM.fullmatch(value.strip())
    if whole and not whole["text"]:
        return _element(item, whole["key"])
    return ITEM.sub(lambda m: str(_element(item, m["key"])), value)


def _element(item: Any, key: str | None) -> Any:
    if key is None:
        return item
    if not isinstance(item, dict) or key not in item:
        raise KeyError(f"${{item.{key}}}: element {item!r} has no key '{key}'")
    return item[key]


def uses_item(value: Any) -> bool:
    if isinstance(value, dict):
        return any(uses_item(v) for v in value.values())
    if isinstance(value, list):
        return any(uses_item(v) for v in value)
    return isinstance(value, str) and ITEM.search(value) is not None


def _indexed_names(value: Any, index: str, reserve: int) -> Any:
    """Every job or resource name (a string ending in the run suffix) with ``-<index>`` before the suffix,
    its base cut so the name stays within SageMaker's limit for the longest index (``reserve`` chars)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and v.endswith(RUN_SUFFIX):
                cap = _NAME_LIMITS.get(k, 63) - _SUFFIX_BUDGET - reserve
                base = v[: -len(RUN_SUFFIX)]
                out[k] = base[:cap].rstrip("-") + index + RUN_SUFFIX
            else:
                out[k] = _indexed_names(v, index, reserve)
        return out
    if isinstance(value, list):
        return [_indexed_names(v, index, reserve) for v in value]
    return value


def _replace_text(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_text(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_text(v, old, new) for v in value]
    return value.replace(old, new) if isinstance(value, str) else value


def _mapped_argument(task_id: str, differing: list[str], kwargs: dict[str, Any]) -> str:
    if len(differing) > 1:
        raise FanOutError(
            f"task {task_id}: its elements change {len(differing)} operator arguments "
            f"({', '.join(differing)}); for_each maps one"
        )
    if differing:
        return differing[0]
    found = next((name for name in _PREFERRED if name in kwargs), None)
    if found is None:
        raise FanOutError(f"task {task_id}: nothing in this task can vary per element")
    return found


Compile = Callable[[Any, str, dict[str, Any]], Any]  # (pipeline, task id, task) -> CompiledTask


def compile_mapped(
    pipeline: Any, task_id: str, task: dict[str, Any], compile_one: Compile, depends_on: list[str]
) -> Any:
    """A ``for_each`` task as one mapped CompiledTask (``mapped`` says over what and which argument);
    ``depends_on``: the whole task's, ``for_each`` included (a list from a task output waits for it)."""
    for_each = task["for_each"]
    body = {k: v for k, v in task.items() if k != "for_each"}
    if is_literal(for_each):
        width = len(f"-{len(for_each) - 1}")
        _check_name(task, for_each, width)
        compiled = [compile_one(pipeline, task_id, put_item(body, item)) for item in for_each]
        values = [_indexed_names(c.kwargs, f"-{i}", width) for i, c in enumerate(compiled)]
        differing = sorted({k for v in values for k in v if v.get(k) != values[0].get(k)})
        argument = _mapped_argument(task_id, differing, values[0])
        kwargs = {k: v for k, v in values[0].items() if k != argument}
        mapped = {"argument": argument, "values": [v[argument] for v in values]}
        return dataclasses.replace(compiled[0], kwargs=kwargs, mapped=mapped, depends_on=depends_on)
    _check_name(task, None, RUNTIME_INDEX_BUDGET)
    one = compile_one(pipeline, task_id, body)
    keys = {m["key"] for m in ITEM.finditer(repr(body)) if m["key"]}
    try:
        probe = compile_one(
            pipeline, task_id, put_item(body, dict.fromkeys(keys, _PROBE) if keys else _PROBE)
        )
    except (ValueError, TypeError, KeyError):  # a sample the kind refuses: keep the element's own type
        probe = one
    one = dataclasses.replace(one, kwargs=_as_text_where_stringified(one.kwargs, probe.kwargs))
    kwargs = _indexed_names(one.kwargs, "-" + MAP_INDEX, RUNTIME_INDEX_BUDGET)
    differing = [k for k, v in kwargs.items() if uses_item(v) or MAP_INDEX in repr(v)]
    argument = _mapped_argument(task_id, differing, kwargs)
    # The try number is the mapped task's own, so the <task>__items step must not render it.
    kwargs[argument] = _replace_text(kwargs[argument], TRY_TEMPLATE, TRY_NUMBER)
    mapped = {"argument": argument, "items": items_of(for_each, pipeline.tasks)}
    return dataclasses.replace(one, kwargs=kwargs, mapped=mapped, depends_on=depends_on)


def _as_text_where_stringified(marked: Any, probe: Any) -> Any:
    """``${item}`` -> ``${item:text}`` in the fields whose sample element the kind turned into text, so the
    ``<task>__items`` step puts the element in as text there (and keeps its type elsewhere)."""
    if isinstance(marked, dict) and isinstance(probe, dict):
        return {k: _as_text_where_stringified(v, probe.get(k)) for k, v in marked.items()}
    if isinstance(marked, list) and isinstance(probe, list) and len(marked) == len(probe):
        return [_as_text_where_stringified(m, p) for m, p in zip(marked, probe, strict=True)]
    whole = ITEM.fullmatch(marked.strip()) if isinstance(marked, str) else None
    if whole and isinstance(probe, str):
        return "${item" + (f".{whole['key']}" if whole["key"] else "") + ":text}"
    return marked


def mapped_kwargs(compiled: Any) -> list[dict[str, Any]]:
    """The operator arguments of each element of a mapped task, as templates (for the checks that read a
    task's arguments: the botocore request check, the task-output rendering check); ``[kwargs]`` when the
    task is not mapped. A run-time template's markers become Jinja-like samples."""
    mapped = compiled.mapped
    if not mapped:
        return [compiled.kwargs]
    if "values" in mapped:
        return [{**compiled.kwargs, mapped["argument"]: value} for value in mapped["values"]]
    sample = _replace_text(compiled.kwargs, TRY_NUMBER, TRY_TEMPLATE)
    sample = _replace_text(sample, MAP_INDEX, "{{ ti.map_index }}")
    return [_sample_items(sample)]


def _sample_items(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sample_items(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sample_items(v) for v in value]
    # the element is run-time data (the <task>__items step's XCom): request_check judges its type only
    return ITEM.sub("{{ item_from_xcom_pull }}", value) if isinstance(value, str) else value


def item_paths(value: Any, path: tuple = ()) -> set[tuple]:
    """Paths of the strings that use ``${item}``: their values are only known per element, so the schema
    check treats them like run-time values (each element's request is checked against botocore)."""
    found: set[tuple] = set()
    if isinstance(value, str):
        return {path} if ITEM.search(value) else found
    if not isinstance(value, dict | list):
        return found
    stack = [(path, value)]  # one pass, no set per level: it runs twice over every pipeline
    while stack:
        where, container = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for k, v in pairs:
            if isinstance(v, str):
                if "$" in v and ITEM.search(v):
                    found.add((*where, k))
            elif isinstance(v, dict | list):
                stack.append(((*where, k), v))
    return found


def describe(compiled: Any) -> str:
    """How a mapped task fans out, in a few words (``render``, ``graph``); "" for a task not mapped."""
    mapped = compiled.mapped
    if not mapped:
        return ""
    if "values" in mapped:
        return f"for_each: {len(mapped['values'])} elements (one {mapped['argument']} each)"
    source = mapped["items"].strip().removeprefix("{{").removesuffix("}}").strip()
    pulled = PULLED.search(source)
    shown = f"the output of {pulled[1]}" if pulled else source
    return f"for_each: each element of {shown}, at run time ({compiled.task_id}{BUILDER_SUFFIX})"
