"""What a SageMaker Pipelines definition means, apart from running its jobs: which steps exist (a Condition
step's ``IfSteps`` and ``ElseSteps`` nest whole steps), the order they may run in, and the values of its
expressions and conditions.

The definition is the JSON the SageMaker SDK writes (``pipeline.definition()``); this module reads the
forms the SDK v2 emits:

* ``{"Get": "Parameters.<name>"}``, ``{"Get": "Execution.<variable>"}`` (PipelineExecutionId,
  PipelineExecutionArn, PipelineName, PipelineArn, StartDateTime, CurrentDateTime) and
  ``{"Get": "Steps.<step>.<property path>"}`` (the step's Describe* answer; a Condition step's
  ``Outcome``);
* ``{"Std:Join": {"On": ..., "Values": [...]}}`` and ``{"Std:JsonGet": {"PropertyFile": {"Get":
  "Steps.<step>.PropertyFiles.<name>"} | "S3Uri": ..., "Path": "a.b[0].c"}}``: a processing step's
  ``PropertyFiles`` name a JSON file one of its outputs uploaded;
* conditions ``Equals``, ``GreaterThan``, ``GreaterThanOrEqualTo``, ``LessThan``, ``LessThanOrEqualTo``
  (``LeftValue``, ``RightValue``), ``In`` (``QueryValue``, ``Values``), ``Not`` (``Condition``) and ``Or``
  (``Conditions``); numbers and numeric text compare as numbers, as the service's typed parameters do.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class StepFailed(Exception):
    """A step that did not succeed, with the reason the execution reports."""


@dataclass
class Step:
    """One step of a definition, wherever it is nested, with the steps it must wait for."""

    name: str
    spec: dict[str, Any]
    condition: str | None = None  # the Condition step whose branch holds it
    branch: bool | None = None  # True: IfSteps, False: ElseSteps
    needs: set[str] = field(default_factory=set)


def _step_refs(value: Any) -> set[str]:
    return set(re.findall(r'"Get":\s*"Steps\.([^."]+)', json.dumps(value)))


def flatten(steps: list[dict[str, Any]]) -> dict[str, Step]:
    """Every step by name, a branch's steps after their Condition step; a name used twice is refused,
    as CreatePipeline refuses it."""
    found: dict[str, Step] = {}

    def visit(specs: list[dict[str, Any]], condition: str | None, branch: bool | None) -> None:
        for spec in specs:
            name = spec["Name"]
            if name in found:
                raise StepFailed(f"the definition names step '{name}' twice")
            arguments = dict(spec.get("Arguments") or {})
            nested = (arguments.pop("IfSteps", None) or [], arguments.pop("ElseSteps", None) or [])
            needs = set(spec.get("DependsOn") or []) | _step_refs(arguments)
            needs |= {condition} if condition else set()
            found[name] = Step(name, spec, condition, branch, needs)
            if spec.get("Type") == "Condition":
                visit(nested[0], name, True)
                visit(nested[1], name, False)

    visit(steps, None, None)
    for step in found.values():
        unknown = sorted(step.needs - set(found))
        if unknown:
            raise StepFailed(f"step '{step.name}' depends on unknown step(s) {', '.join(unknown)}")
    return found


def order(steps: dict[str, Step]) -> list[Step]:
    """Steps in an order that respects every dependency (the definition's own order among equals)."""
    ordered: list[Step] = []
    done: set[str] = set()
    while len(ordered) < len(steps):
        ready = [s for n, s in steps.items() if n not in done and s.needs <= done]
        if not ready:
            raise StepFailed("the steps' dependencies form a cycle")
        ordered.append(ready[0])
        done.add(ready[0].name)
    return ordered


def property_of(value: Any, path: str) -> Any:
    """``ModelArtifacts.S3ModelArtifacts`` or ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``
    of a Describe* answer (a list indexed by a name picks the item holding that name), or ``a.b[0]`` of
    a JSON document."""
    for part in re.findall(r"[^.\[\]]+|\[[^\]]+\]", path):
        if part.startswith("["):
            key = part[1:-1].strip("'\"")
            if isinstance(value, list):
                named = [i for i in value if isinstance(i, dict) and key in i.values()]
                value = named[0] if named else value[int(key)]
            else:
                value = value[key]
        else:
            value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers when both sides are numbers or numeric text, booleans when one side is a boolean (a
    Boolean parameter's value arrives as text), else the values as they are."""
    for a, b in ((left, right), (right, left)):
        if isinstance(a, bool) and isinstance(b, str) and b.lower() in ("true", "false"):
            return (a, b.lower() == "true") if a is left else (b.lower() == "true", a)
    numbers = _number(left), _number(right)
    if None not in numbers:
        return numbers
    return left, right


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}


class Scope:
    """The values an execution's expressions can read; ``read_json`` fetches a JSON file from S3."""

    def __init__(
        self,
        parameters: dict[str, Any],
        execution: dict[str, Any],
        steps: dict[str, Step],
        read_json: Callable[[str], Any],
    ) -> None:
        self.parameters = parameters
        self.execution = execution
        self.steps = steps
        self.read_json = read_json
        self.properties: dict[str, Any] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Get"}:
                return self.get(value["Get"])
            if set(value) == {"Std:Join"}:
                spec = value["Std:Join"]
                return str(spec.get("On", "")).join(str(self.resolve(v)) for v in spec.get("Values", []))
            if set(value) == {"Std:JsonGet"}:
                return self._json_get(value["Std:JsonGet"])
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def get(self, expression: str) -> Any:
        scope, _, rest = expression.partition(".")
        if scope == "Parameters":
            if rest not in self.parameters:
                raise StepFailed(f"the pipeline has no parameter '{rest}'")
            return self.parameters[rest]
        if scope == "Execution":
            if rest not in self.execution:
                raise StepFailed(f"unknown execution variable '{rest}'")
            return self.execution[rest]() if callable(self.execution[rest]) else self.execution[rest]
        if scope == "Steps":
            step, _, path = rest.partition(".")
            if step not in self.properties:
                raise StepFailed(f"step '{step}' has not run")
            try:
                return property_of(self.properties[step], path)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise StepFailed(f"step '{step}' has no property {path}") from exc
        raise StepFailed(f"unsupported expression {{'Get': '{expression}'}}")

    def _json_get(self, spec: dict[str, Any]) -> Any:
        if "PropertyFile" in spec:
            reference = spec["PropertyFile"]
            reference = reference.get("Get", "") if isinstance(reference, dict) else str(reference)
            uri = self._property_file_uri(reference)
        else:
            uri = str(self.resolve(spec.get("S3Uri")))
        document = self.read_json(uri)
        try:
            return property_of(document, str(spec.get("Path", "")))
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise StepFailed(f"JsonGet: {uri} has no value at path {spec.get('Path')!r}") from exc

    def _property_file_uri(self, reference: str) -> str:
        match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.(.+)", reference)
        if not match:
            raise StepFailed(f"JsonGet: unsupported property file reference '{reference}'")
        step, name = match.groups()
        if step not in self.properties:
            raise StepFailed(f"step '{step}' has not run")
        files = {f.get("PropertyFileName"): f for f in self.steps[step].spec.get("PropertyFiles") or []}
        if name not in files:
            raise StepFailed(f"step '{step}' declares no property file '{name}'")
        outputs = self.properties[step].get("ProcessingOutputConfig", {}).get("Outputs", [])
        output = next((o for o in outputs if o.get("OutputName") == files[name].get("OutputName")), None)
        if output is None:
            raise StepFailed(f"step '{step}' has no output '{files[name].get('OutputName')}'")
        return f"{output['S3Output']['S3Uri'].rstrip('/')}/{files[name].get('FilePath', '').lstrip('/')}"

    def holds(self, condition: dict[str, Any]) -> bool:
        kind = condition.get("Type")
        if kind in _COMPARISONS:
            left, right = _comparable(
                self.resolve(condition.get("LeftValue")), self.resolve(condition.get("RightValue"))
            )
            try:
                return _COMPARISONS[kind](left, right)
            except TypeError as exc:
                raise StepFailed(f"condition {kind}: cannot compare {left!r} with {right!r}") from exc
        if kind == "In":
            query = self.resolve(condition.get("QueryValue"))
            return any(a == b for a, b in (_comparable(query, self.resolve(v)) for v in condition["Values"]))
        if kind == "Not":
            return not self.holds(condition["Condition"])
        if kind == "Or":
            return any(self.holds(c) for c in condition.get("Conditions") or [])
        raise StepFailed(f"unsupported condition type {kind}")
