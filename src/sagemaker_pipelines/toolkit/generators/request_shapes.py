"""``compile/request_shapes.json``: the part of botocore's SageMaker model that the request check reads.

botocore's whole SageMaker model is a multi-megabyte JSON file: loading it cost every cold parse and
every task start without a cache some 40 ms, for the few operations the task kinds send. This keeps
those operations' input shapes and every shape they reach, without documentation, in the same layout
botocore uses, so ``compile/request_check.py`` builds botocore's own ``ServiceModel`` (and validator)
from it. It is generated from the installed botocore, never typed; ``tests/core/test_request_shapes.py``
fails when it is stale (a botocore upgrade, a kind with a new operation) until ``make schemas`` runs.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session

# Keys of a shape that the validator and the sampler never read: kept out to keep the file small.
_DROPPED = ("documentation", "deprecated", "deprecatedMessage")


def operations() -> list[str]:
    """Every SageMaker operation a task kind's request is checked against, from the kinds table."""
    from sagemaker_pipelines.compile.kinds import KINDS

    return sorted({kind.api_operation for kind in KINDS.values() if kind.api_operation})


def _reached(shapes: dict[str, Any], start: str) -> set[str]:
    """The names of ``start`` and of every shape it refers to, at any depth."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        pending += refs
    return seen


def build(names: list[str] | None = None) -> dict[str, Any]:
    """The trimmed model of ``names`` (every kind's operation when None), as botocore lays a model out."""
    loader = botocore.session.get_session().get_component("data_loader")
    full = loader.load_service_model("sagemaker", "service-2")
    wanted = operations() if names is None else sorted(names)
    kept: set[str] = set()
    ops: dict[str, Any] = {}
    for name in wanted:
        operation = full["operations"][name]
        ops[name] = {"name": name, "http": operation["http"], "input": {"shape": operation["input"]["shape"]}}
        kept |= _reached(full["shapes"], operation["input"]["shape"])
    shapes = {}
    for name in sorted(kept):
        shape = {k: v for k, v in full["shapes"][name].items() if k not in _DROPPED}
        if "members" in shape:
            shape["members"] = {
                member: {k: v for k, v in ref.items() if k not in _DROPPED}
                for member, ref in shape["members"].items()
            }
        shapes[name] = shape
    return {
        "botocore": botocore.__version__,
        "model": {
            "version": full.get("version", "2.0"),
            "metadata": full["metadata"],
            "operations": ops,
            "shapes": shapes,
        },
    }


def render(data: dict[str, Any]) -> str:
    """One shape per line: small, and a botocore upgrade's diff shows which shapes changed. A shape's
    keys keep botocore's order: its members' order is the order botocore names valid members in."""
    model = data["model"]
    lines = [
        "{",
        f'"botocore": {json.dumps(data["botocore"])},',
        '"model": {',
        f'"version": {json.dumps(model["version"])},',
        f'"metadata": {json.dumps(model["metadata"], sort_keys=True)},',
        f'"operations": {json.dumps(model["operations"], sort_keys=True)},',
        '"shapes": {',
    ]
    shapes = model["shapes"]
    lines += [
        f"{json.dumps(name)}: {json.dumps(shape)}{',' if i < len(shapes) - 1 else ''}"
        for i, (name, shape) in enumerate(shapes.items())
    ]
    lines += ["}", "}", "}"]
    return "\n".join(lines) + "\n"
