"""``${...}`` references inside string values, resolved on parsed data (never on raw YAML text).

- ``${env.<name>}``: a value of the chosen environment (``bucket``, ``role_arn``, ``values``...);
- ``${s3.bucket}`` and ``${s3.<prefix>}``: the pipeline's bucket, or ``s3://<bucket>/<prefix>``;
- ``${params.<name>}``: a run parameter, becoming the Jinja template ``{{ params.<name> }}``;
- ``${dag_id}``: the pipeline's DAG id;
- ``${tasks.<id>.<output>}``: what another task produced (a job name, model artifacts, a metric...),
  becoming a Jinja template over that task's XCom (see ``compile/kinds/outputs.py``); the task becomes an
  upstream of the one that uses it. Such a value is only known at run time, so it may only stand in
  fields that reach an argument the operator templates (checked after compiling, see
  :func:`unrendered_outputs`).

A string that is exactly one ``${env.x}`` reference takes the value's own type, so a number stays a
number. Unknown names are problems with a did-you-mean, located at the string that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sagemaker_pipelines.format.schema_check import did_you_mean
from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.problems import Code, Problem, field_path

REFERENCE = re.compile(
    r"\$\{\s*(?:tasks\.(?P<task>[A-Za-z0-9_-]+)\.(?P<output>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?P<keys>(?:\.[A-Za-z0-9_:/-]+)*)"
    r"|(?P<scope>[A-Za-z_][A-Za-z0-9_]*)(?:\.(?P<name>[A-Za-z_][A-Za-z0-9_]*))?)\s*\}"
)

# (scope, name, path of the string) -> (found, value, known names); may raise ReferenceProblem.
Lookup = Callable[[str, str | None, tuple], tuple[bool, Any, list[str]]]


class ReferenceProblem(Exception):
    """A reference that names something, but something that cannot be used where it stands."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _may_refer(value: Any) -> bool:
    """A collection, or a string with a ``${``: what :meth:`Resolver.resolve` does more than return."""
    return isinstance(value, dict | list) or (isinstance(value, str) and "${" in value)


class Resolver:
    """Resolves references of some scopes, leaving the others for a later pass."""

    def __init__(self, doc: Document, file: str, scopes: dict[str, Lookup], report_malformed: bool = False):
        self.doc = doc
        self.file = file
        self.scopes = scopes
        self.report_malformed = report_malformed  # one pass reports "${" that starts no reference
        self.problems: list[Problem] = []
        self.bad_paths: set[tuple] = set()

    def resolve(self, value: Any, path: tuple = ()) -> Any:
        """``value`` with this pass's references resolved: a new copy of every mapping and list (a
        path is built only for a collection or a string that holds a reference)."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                out[k] = self.resolve(v, (*path, k)) if _may_refer(v) else v
            return out
        if isinstance(value, list):
            return [self.resolve(v, (*path, i)) if _may_refer(v) else v for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self._string(value, path)
        return value

    def _string(self, text: str, path: tuple) -> Any:
        if self.report_malformed:
            for start in (m.start() for m in re.finditer(r"\$\{", text)):
                if not REFERENCE.match(text, start):
                    shown = text[start : start + 40]
                    hint = (
                        "write ${env.<name>}, ${s3.<name>}, ${params.<name>}, ${tasks.<id>.<output>} or "
                        "${dag_id}, closed by '}'"
                    )
                    self._problem(path, f"malformed reference '{shown}'", hint)
                    break
        whole = REFERENCE.fullmatch(text.strip())
        if whole:
            found, value = self._lookup(whole, path)
            if found:
                return value
            return text

        def substitute(match: re.Match) -> str:
            found, value = self._lookup(match, path)
            return str(value) if found else match.group(0)

        return REFERENCE.sub(substitute, text)

    def _lookup(self, match: re.Match, path: tuple) -> tuple[bool, Any]:
        if match["task"]:
            scope, name = "tasks", f"{match['task']}.{match['output']}{match['keys']}"
        else:
            scope, name = match["scope"], match["name"]
        lookup = self.scopes.get(scope)
        if lookup is None:
            if scope in _ALL_SCOPES:
                return False, None  # resolved by another pass
            hint = did_you_mean(scope, _ALL_SCOPES) or (
                "references are ${env.x}, ${s3.x}, ${params.x}, ${tasks.<id>.<output>}, ${dag_id}"
            )
            self._problem(path, f"unknown reference '{match.group(0)}'", hint)
            return False, None
        try:
            found, value, known = lookup(scope, name, path)
        except ReferenceProblem as problem:
            self._problem(path, f"'{match.group(0)}': {problem.message}", problem.hint)
            return False, None
        if not found:
            shown = ", ".join(known) if known else "none defined"
            hint = did_you_mean(name, known) or f"known: {shown}"
            self._problem(path, f"'{match.group(0)}' names nothing", hint)
            return False, None
        return True, value

    def _problem(self, path: tuple, message: str, hint: str) -> None:
        line, col = self.doc.value_position(path)
        self.problems.append(
            Problem(self.file, line, col, field_path(path), message, hint, code=Code.REFERENCE)
        )
        self.bad_paths.add(path)


_ALL_SCOPES = ("env", "s3", "params", "tasks", "dag_id", "item")  # item: for_each, compile/fan_out.py


def env_scope(environment) -> Lookup:
    def lookup(_scope: str, name: str | None, _path: tuple = ()) -> tuple[bool, Any, list[str]]:
        value = environment.lookup(name) if name else None
        return value is not None, value, environment.names()

    return lookup


def dag_id_scope(dag_id: str) -> Lookup:
    def lookup(_scope: str, name: str | None, _path: tuple = ()) -> tuple[bool, Any, list[str]]:
        return name is None, dag_id, []

    return lookup


def s3_scope(bucket: str, prefixes: dict[str, str]) -> Lookup:
    def lookup(_scope: str, name: str | None, _path: tuple = ()) -> tuple[bool, Any, list[str]]:
        known = ["bucket", *sorted(prefixes)]
        if name == "bucket":
            return True, bucket, known
        if name in prefixes:
            return True, f"s3://{bucket}/{prefixes[name]}", known
        return False, None, known

    return lookup


def params_scope(params: dict[str, Any]) -> Lookup:
    def lookup(_scope: str, name: str | None, _path: tuple = ()) -> tuple[bool, Any, list[str]]:
        if name in params:
            return True, "{{ params." + name + " }}", sorted(params)
        return False, None, sorted(params)

    return lookup


def unrendered_outputs(kwargs: dict[str, Any], templated: tuple[str, ...], values: list[str]) -> list[str]:
    """The run-time ``values`` (task output templates) of a task that do not reach an argument its
    operator renders: they would be sent as the literal text ``{{ ti.xcom_pull(...) }}``."""
    rendered: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            rendered.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for name in templated:
        collect(kwargs.get(name))
    return [v for v in values if not any(v in text for text in rendered)]
