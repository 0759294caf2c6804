"""``check_request`` answers a request with nothing to report from one walk (``_fits``) and builds
botocore's report only for the others: the walk must never pass a request the full check would fault.

Held to the full check (``request_problems``) on every request the repository's pipelines and good
inputs compile to, and on mutations of them: each value replaced by one of another type, by a long
string, by a template, each member removed, an unknown member added, a list emptied. The walk may be
stricter than the full check only where it says it does not know (tagged unions, documents, timestamps,
blobs), so the two agree on nearly all of them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.compile.fan_out import mapped_kwargs
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.request_check import _OPERATOR_ONLY, _fits, _input_shape, request_problems

from .conftest import CORE_DIR, PIPELINES

SOURCES = [*sorted(PIPELINES.glob("*.yaml")), CORE_DIR / "good_inputs" / "every_kind.yaml"]
REPLACEMENTS = (None, 7, -3, 2.5, True, "x", "", [], {}, "{{ params.k }}", "y" * 3000, ["a"], {"a": "b"})


def _requests(path: Path, env) -> list[tuple[str, dict[str, Any]]]:
    result = check_file(path, env)
    assert result.compiled is not None, result.problems
    found = []
    for task in result.compiled.tasks:
        kind = KINDS[task.kind]
        if kind.api_operation:
            for kwargs in mapped_kwargs(task):  # as check_request sends them: without the operator's own
                config = kind.request_of(kwargs)
                found.append(
                    (kind.api_operation, {k: v for k, v in config.items() if k not in _OPERATOR_ONLY})
                )
    return found


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _mutations(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for n, path in enumerate(_paths(request)):
        for change in ("replace", "remove", "unknown", "empty"):
            changed = copy.deepcopy(request)
            parent = changed
            for key in path[:-1]:
                parent = parent[key]
            value = parent[path[-1]]
            if change == "replace":
                parent[path[-1]] = REPLACEMENTS[n % len(REPLACEMENTS)]
            elif change == "remove" and isinstance(parent, dict):
                del parent[path[-1]]
            elif change == "unknown" and isinstance(value, dict):
                value["NotAMember"] = "x"
            elif change == "empty" and isinstance(value, list | dict) and value:
                value.clear()
            else:
                continue
            yield changed


def _agree(operation: str, request: dict[str, Any]) -> bool:
    shape = _input_shape(operation)
    full = request_problems(operation, request)
    fits = _fits(request, shape, top=True)
    assert not (fits and full), f"{operation}: the walk passed a request the full check faults: {full}"
    return fits == (not full)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_request_and_its_mutations(path, local_env):
    requests = _requests(path, local_env)
    for operation, request in requests:
        assert _agree(operation, request), f"{operation}: the full check finds nothing, the walk refuses"
    mutated = [(operation, m) for operation, request in requests for m in _mutations(request)]
    agreed = sum(_agree(operation, m) for operation, m in mutated)
    assert agreed >= 0.95 * len(mutated)
