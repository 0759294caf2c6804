"""The schema's task branches, assembled from the kinds' own fragments and specs.

Each kind's fields, as a user writes them, are one fragment, ``schemas/kinds/<kind>.json``: its title,
description, examples and own properties. What every task shares (``schemas/task.json``: ``task_group``,
``depends_on``, ``retries``, ...; ``for_each`` where the spec allows fan-out) and the ``kind`` property are
added here, and the ``task`` definition that chooses a branch by ``kind`` lists the kinds of the specs
(``compile/kinds``), so a kind is never named in the schema by hand. ``make schemas`` writes the result into
``pipeline.schema.json``; a test fails while a spec has no fragment or a fragment no spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_pipelines.compile.kinds import ALIASES, KINDS
from sagemaker_pipelines.paths import schemas_dir


def fragments_dir() -> Path:
    return schemas_dir() / "kinds"


def shared_path() -> Path:
    return schemas_dir() / "task.json"


def kind_names() -> list[str]:
    """Every kind a task may name, in the order the schema lists them (the specs', then the aliases)."""
    return [*KINDS, *ALIASES]


def fragment(kind: str) -> dict[str, Any]:
    return json.loads((fragments_dir() / f"{kind}.json").read_text(encoding="utf-8"))


def branch(kind: str, shared: dict[str, Any]) -> dict[str, Any]:
    """One kind's task definition: its fragment, with the ``kind`` property and the shared fields."""
    own = fragment(kind)
    fan_out = KINDS[kind].fan_out if kind in KINDS else True
    properties = {
        "kind": {"const": kind, "description": shared["kind"]["description"], "examples": [kind]},
        **shared["properties"],
        **own.get("properties", {}),
        **({"for_each": shared["for_each"]} if fan_out else {}),
    }
    head = {key: own[key] for key in ("title", "description", "examples") if key in own}
    rest = {key: value for key, value in own.items() if key not in (*head, "properties", "required")}
    return {
        "type": "object",
        **head,
        "additionalProperties": False,
        "required": ["kind", *own.get("required", [])],
        "properties": properties,
        **rest,
    }


def dispatcher(shared: dict[str, Any]) -> dict[str, Any]:
    """``task``: a ``kind`` from the list, then the fields of that kind's branch."""
    names = kind_names()
    choose = [
        {
            "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
            "then": {"$ref": f"#/$defs/{name}_task"},
        }
        for name in names
    ]
    return {
        "type": "object",
        **shared["task"],
        "required": ["kind"],
        "properties": {"kind": {**shared["kind"], "enum": names}},
        "allOf": choose,
    }


def apply(source: dict[str, Any]) -> dict[str, Any]:
    """The source schema with its task definitions made from the fragments: the other definitions first,
    as the source orders them, then ``task``, then one branch per kind."""
    shared = json.loads(shared_path().read_text(encoding="utf-8"))
    defs = {
        name: value
        for name, value in source["$defs"].items()
        if name != "task" and not (name.endswith("_task") and name.removesuffix("_task") in _written(source))
    }
    defs["task"] = dispatcher(shared)
    for name in kind_names():
        defs[f"{name}_task"] = branch(name, shared)
    return {**source, "$defs": defs}


def _written(source: dict[str, Any]) -> set[str]:
    """The kinds whose branches the source holds already (made by an earlier run, or by hand)."""
    enum = source["$defs"].get("task", {}).get("properties", {}).get("kind", {}).get("enum", [])
    return {*enum, *kind_names()}
