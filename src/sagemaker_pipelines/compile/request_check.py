"""Check generated SageMaker requests offline against botocore's own model of the SageMaker API.

A pipeline that passes is a request AWS would accept in shape: required members present, no unknown
members (a typo inside ``config:`` is caught here), the right types, lengths and name patterns. Jinja
templates are replaced by sample values of the right type first, since they are only known at run time.

The model is botocore's own, cut to the operations the task kinds send (``request_shapes.json``, written
by ``make schemas`` from the installed botocore): loading botocore's whole SageMaker model would cost
every cold parse and every task start without a cache tens of milliseconds for shapes no task sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from botocore.model import ServiceModel, Shape
from botocore.utils import is_json_value_header
from botocore.validate import ParamValidator

from sagemaker_pipelines.compile.compiled import CompiledPipeline
from sagemaker_pipelines.compile.fan_out import mapped_kwargs
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.format.templates import replace_expressions

_TEMPLATE = re.compile(r"\{\{.*?\}\}")
# Fields consumed by the Airflow operator itself, never sent to the API.
_OPERATOR_ONLY = ("S3Operations",)


SHAPES_PATH = FilePath(__file__).with_name("request_shapes.json")


@cache
def _service_model() -> ServiceModel:
    """botocore's ServiceModel of the operations the kinds send, from the generated file."""
    data = json.loads(SHAPES_PATH.read_text(encoding="utf-8"))
    return ServiceModel(data["model"], service_name="sagemaker")


@cache
def _full_service_model() -> ServiceModel:
    """botocore's whole SageMaker model: only for an operation the generated file does not hold yet (a
    kind added since ``make schemas`` ran; the test of the file fails until it runs again)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def _input_shape(operation: str) -> Shape:
    model = _service_model()
    if operation not in model.operation_names:
        model = _full_service_model()
    return model.operation_model(operation).input_shape


def _sample(value: Any, shape: Shape | None) -> Any:
    """Replace Jinja templates by run-time-like values that fit ``shape``."""
    if isinstance(value, dict):
        members = (
            getattr(shape, "members", {}) if shape is not None and shape.type_name == "structure" else {}
        )
        value_shape = shape.value if shape is not None and shape.type_name == "map" else None
        return {k: _sample(v, members.get(k, value_shape)) for k, v in value.items()}
    if isinstance(value, list):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        return [_sample(v, member) for v in value]
    if isinstance(value, str) and "{{" in value:
        type_name = shape.type_name if shape is not None else "string"
        if type_name in ("integer", "long"):
            return 1
        if type_name in ("float", "double"):
            return 1.0
        if type_name == "boolean":
            return True
        if type_name == "string" and shape.enum and _TEMPLATE.fullmatch(value):
            return shape.enum[0]
        sampled = replace_expressions(value, _sample_text)
        # A value that is one template (``${params.role_arn}``), or embeds another task's output, has a
        # form known only at run time: no sample stands for every ARN, URI or name it may be.
        if _TEMPLATE.fullmatch(value.strip()):  # long enough for botocore's own length check
            return _RunTimeText(sampled.ljust((shape.metadata.get("min", 0) if shape else 0), "0"))
        return _RunTimeText(sampled) if "xcom_pull" in value else sampled
    return value


class _RunTimeText(str):
    """A sample of a value whose form is only known at run time (one whole template, or another task's
    output inside it), so length, pattern and enum limits are not judged on it (its type still is)."""


def _sample_text(template: str) -> str:
    """A run-time-like value of one template: a try number is short, a timestamp or name is not."""
    return "1" if "try_number" in template else "20240101T000000"


# Unicode property classes the API's patterns use (Java syntax), as Python character ranges.
_PROPERTIES = {
    r"\p{L}": "a-zA-Z\u00c0-\u024f\u0370-\u1fff\u3040-\uffef",
    r"\p{M}": "\u0300-\u036f",
    r"\p{N}": "0-9",
    r"\p{Z}": " \u00a0\u2000-\u200a\u3000",
    r"\p{S}": "$+<=>^`|~",
    r"\p{P}": "!-#%-*,-/:;?@\\[-\\]_{}",
}


@cache
def _api_pattern(pattern: str | None) -> re.Pattern | None:
    """An API pattern as a Python regular expression; None when it cannot be expressed."""
    if not pattern:
        return None
    for prop, chars in _PROPERTIES.items():
        pattern = pattern.replace(prop, chars)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


Path = tuple[str | int, ...]


@dataclass(frozen=True)
class RequestProblem:
    """One thing the API would reject, kept as data for the reporter: the request member it is about (the
    parent of a missing one), botocore's (or our) message, and for an unknown member the names the API
    allows there."""

    operation: str
    path: Path
    message: str
    valid_names: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.operation} request: {self.message}"


def _problems_in(params: Any, shape: Shape, path: Path) -> list[tuple[Path, str]]:
    """Length and pattern limits, which botocore's validator leaves to the service."""
    found: list[tuple[Path, str]] = []
    if isinstance(params, dict) and shape.type_name == "structure":
        for key, value in params.items():
            if key in shape.members:
                found += _problems_in(value, shape.members[key], (*path, key))
    elif isinstance(params, list) and shape.type_name == "list":
        for i, value in enumerate(params):
            found += _problems_in(value, shape.member, (*path, i))
    elif isinstance(params, str) and shape.type_name == "string" and not isinstance(params, _RunTimeText):
        where = _dotted(path)
        meta = shape.metadata
        if "max" in meta and len(params) > meta["max"]:
            found.append((path, f"{where}: {len(params)} characters, the API allows at most {meta['max']}"))
        pattern = _api_pattern(meta.get("pattern"))
        if pattern and len(params) < 2000 and not pattern.fullmatch(params):
            found.append((path, f"{where}: {params!r} does not match the API's pattern {pattern}"))
        if shape.enum and params not in shape.enum:
            found.append((path, f"{where}: {params!r} is not one of {', '.join(shape.enum[:8])}"))
    return found


def _dotted(path: Path) -> str:
    """``("InputDataConfig", 0, "ChannelName")`` -> ``InputDataConfig[0].ChannelName``, as botocore writes."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _botocore_path(name: str) -> Path:
    """botocore's member name (``.InputDataConfig[0].DataSource``; empty for the request) as a path."""
    return tuple(int(index) if index else key for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", name))


_NUMBERS = {
    "integer": (int,),
    "long": (int,),
    "float": (float, Decimal, int),
    "double": (float, Decimal, int),
}
_TEMPLATE_SAMPLES = {"integer": 1, "long": 1, "float": 1.0, "double": 1.0, "boolean": True}


def _min(shape: Shape) -> float:
    """The least length or value botocore's validator allows (its ``range_check``)."""
    if "min" in shape.metadata:
        return shape.metadata["min"]
    return 1 if shape.serialization.get("hostLabel") else float("-inf")


def _fits(value: Any, shape: Shape, ours: bool = True, top: bool = False) -> bool:
    """Whether the request ``value`` passes botocore's validator and :func:`_problems_in` (``ours``: where
    that looks: not under a map) once :func:`_sample` has replaced its templates: the same rules, in
    one walk that builds nothing, for the common case of a request with nothing to report. False also
    for what it does not know (tagged unions, documents, timestamps, blobs): the full check decides."""
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict) or shape.is_document_type or shape.is_tagged_union:
            return False
        members = shape.members
        for name in shape.required_members:  # boto3 fills a top-level idempotency token itself
            if name not in value and not (top and members[name].metadata.get("idempotencyToken")):
                return False
        for key, item in value.items():
            member = members.get(key)
            if member is None or not _fits(item, member, ours):
                return False
        return True
    if type_name == "list":
        if not isinstance(value, list | tuple) or len(value) < _min(shape):
            return False
        member = shape.member
        return all(_fits(item, member, ours) for item in value)
    if type_name == "map":
        if not isinstance(value, dict):
            return False
        key_shape, value_shape = shape.key, shape.value
        return all(_fits(k, key_shape, False) and _fits(v, value_shape, False) for k, v in value.items())
    if isinstance(value, str) and "{{" in value:
        if type_name in _TEMPLATE_SAMPLES:
            value = _TEMPLATE_SAMPLES[type_name]
        elif type_name == "string":
            value = _sample(value, shape)
    if type_name == "string":
        if not isinstance(value, str) or is_json_value_header(shape) or len(value) < _min(shape):
            return False
        if not ours or isinstance(value, _RunTimeText):
            return True
        meta = shape.metadata
        if "max" in meta and len(value) > meta["max"]:
            return False
        pattern = _api_pattern(meta.get("pattern"))
        if pattern and len(value) < 2000 and not pattern.fullmatch(value):
            return False
        return not shape.enum or value in shape.enum
    if type_name in _NUMBERS:
        return isinstance(value, _NUMBERS[type_name]) and value >= _min(shape)
    return type_name == "boolean" and isinstance(value, bool)


def check_request(operation: str, config: dict[str, Any]) -> list[RequestProblem]:
    """Everything in ``config`` that the ``operation`` request would reject."""
    shape = _input_shape(operation)
    request = {k: v for k, v in config.items() if k not in _OPERATOR_ONLY}
    if _fits(request, shape, top=True):
        return []  # nothing to report: no sampled copy, no botocore report to build
    return request_problems(operation, request)


def request_problems(operation: str, request: dict[str, Any]) -> list[RequestProblem]:
    """What :func:`check_request` reports, found the long way: templates sampled, botocore's validator,
    then the limits it leaves to the service. Only a request :func:`_fits` refuses needs it."""
    shape = _input_shape(operation)
    params = _sample(request, shape)
    for name, member in shape.members.items():  # boto3 fills idempotency tokens in itself
        if member.metadata.get("idempotencyToken") and name not in params:
            params[name] = "00000000-0000-4000-8000-000000000000"
    report = ParamValidator().validate(params, shape)
    found = []
    for error in report._errors:  # botocore's own (reason, member, details) records: no text parsed back
        reason, name, details = error
        path = _botocore_path(name)
        valid: tuple[str, ...] = ()
        if reason == "unknown field":
            path, valid = (*path, details["unknown_param"]), tuple(details["valid_names"])
        found.append(RequestProblem(operation, path, report._format_error(error), valid))
    found += [RequestProblem(operation, path, message) for path, message in _problems_in(params, shape, ())]
    return found


def check_compiled(compiled: CompiledPipeline) -> dict[str, list[RequestProblem]]:
    """task id -> problems of its SageMaker request, for every task that sends one."""
    found = {}
    for task in compiled.tasks:
        kind = KINDS[task.kind]
        if kind.api_operation:
            problems: list[RequestProblem] = []
            for kwargs in mapped_kwargs(task):  # each element of a for_each task; else the task
                problems += [
                    p for p in check_request(kind.api_operation, kind.request_of(kwargs)) if p not in problems
                ]
            if problems:
                found[task.task_id] = problems
    return found
