"""The request check's cut of botocore's SageMaker model is botocore's, current, and enough for every kind."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from botocore.model import Shape

from sagemaker_pipelines.compile import request_check
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.toolkit.generators import request_shapes


def _described(shape: Shape, seen: frozenset[str] = frozenset()) -> Any:
    """Everything the validator and the sampler read of a shape, recursively (a cycle names its shape)."""
    if shape.name in seen:
        return shape.name
    seen = seen | {shape.name}
    described: dict[str, Any] = {"name": shape.name, "type": shape.type_name, "metadata": shape.metadata}
    described["enum"] = list(shape.enum) if shape.type_name == "string" else None
    if shape.type_name == "structure":
        described["required"] = sorted(shape.required_members)
        described["members"] = [(n, _described(m, seen)) for n, m in shape.members.items()]  # in order
    elif shape.type_name == "list":
        described["member"] = _described(shape.member, seen)
    elif shape.type_name == "map":
        described["key"] = _described(shape.key, seen)
        described["value"] = _described(shape.value, seen)
    return described


def test_the_committed_file_is_what_make_schemas_writes_from_the_installed_botocore():
    text = request_check.SHAPES_PATH.read_text(encoding="utf-8")
    assert text == request_shapes.render(request_shapes.build()), "stale: run `make schemas`"


def test_every_kind_that_sends_a_request_has_its_operation_in_the_file():
    held = json.loads(request_check.SHAPES_PATH.read_text(encoding="utf-8"))["model"]["operations"]
    sent = {kind.api_operation for kind in KINDS.values() if kind.api_operation}
    assert sent and sent <= set(held)


def test_each_input_shape_equals_botocores_own():
    full = botocore.session.get_session().get_service_model("sagemaker")
    for operation in request_shapes.operations():
        ours = request_check._service_model().operation_model(operation).input_shape
        assert _described(ours) == _described(full.operation_model(operation).input_shape), operation


def test_the_check_reports_what_the_full_model_reports():
    """An unknown member, a missing required one and a bad enum value, as botocore words them."""
    problems = request_check.check_request(
        "CreateModel", {"ModelName": "m", "PrimaryContainer": {"Image": "x", "Mode": "Nope"}, "Typo": 1}
    )
    messages = " | ".join(p.message for p in problems)
    assert 'Unknown parameter in input: "Typo"' in messages
    assert "Nope" in messages
