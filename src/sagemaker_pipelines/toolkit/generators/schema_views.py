"""The authored view of the pipeline schema: a pipeline file as written, before ``${...}`` is resolved.

``pipeline.schema.json`` is the contract of the *resolved* data: ``validate`` resolves references first
(``format/references.py``), then checks the result against it. An editor or check-jsonschema sees the
file as written, where ``output: ${s3.output}/`` is not yet an S3 URI. From that one source this module
derives ``pipeline.authored.schema.json``, the schema of the written form:

- every constrained scalar (a pattern, an enum, a type, bounds) also accepts the reference forms that can
  resolve into it. A form is allowed where a sample of what it resolves to passes the field's own resolved
  schema: ``${s3.<prefix>}/key`` where an S3 URI is expected (``s3://my-bucket/some/prefix/key`` is one),
  ``${params.<name>}`` where a Jinja template is (it becomes ``{{ params.<name> }}``), ``${env.<name>}``
  and ``${dag_id}`` everywhere (the schema cannot know an environment's values; validate checks them in
  every environment);
- a task's fields are chosen by ``kind`` through exact-match conditions: editors complete a ``const`` by
  prefix, so ``kind: training`` would also select the fields of ``training_sensor``;
- each scalar carries ``errorMessage`` and ``patternErrorMessage``, which yaml-language-server shows
  instead of its own texts (the 225 instance types listed, "Incorrect type. Expected integer" for a
  duration), worded from the source's ``title`` like ``validate``'s messages.

Nothing here is typed twice: a new task kind, field or pattern in the source reaches the view when
``make schemas`` regenerates it (a test fails while it is stale).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

AUTHORED_NAME = "pipeline.authored"
ANNOTATIONS = ("title", "description", "examples", "default", "$comment", "deprecated")
SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SUBSCHEMA_ONE = ("additionalProperties", "items", "contains", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_LONG_ENUM = 12

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def _reference(body: str) -> str:
    return r"\$\{\s*" + body + r"\s*\}"


ENV = _reference(rf"env\.{_NAME}")
PARAMS = _reference(rf"params\.{_NAME}")
S3_PREFIX = _reference(rf"s3\.(?!bucket\s*\}}){_NAME}")
S3_BUCKET = _reference(r"s3\.bucket")
DAG_ID = _reference("dag_id")
TASKS = _reference(r"tasks\.[^\s{}]+")  # an earlier task's output, known only at run time
ITEM = _reference(rf"item(?:\.{_NAME})?")  # a for_each element: known per mapped instance


@dataclass(frozen=True)
class Shape:
    """One way a reference may stand in a value, and what it resolves to."""

    label: str  # how a message names it
    scope: str  # the reference scope it uses
    pattern: str  # the written form, anchored by the caller
    written: tuple[str, ...]  # examples of the written form
    resolved: tuple[str, ...]  # samples of what it resolves to; () = unknown to the schema (any scalar)
    strings_only: bool = True  # the value is text around a reference: always a string


SHAPES: tuple[Shape, ...] = (
    Shape("${env.<name>}", "env", rf"\s*{ENV}\s*", ("${env.name}",), (), strings_only=False),
    Shape("text with ${env.<name>}", "env", rf".*{ENV}.*", ("x-${env.name}-y",), ()),
    Shape("${dag_id}", "dag_id", rf"\s*{DAG_ID}\s*", ("${dag_id}",), ()),
    Shape(
        "${tasks.<id>.<output>}", "tasks", rf"\s*{TASKS}\s*", ("${tasks.t.job_name}",), (), strings_only=False
    ),
    Shape("text with ${tasks.<id>.<output>}", "tasks", rf".*{TASKS}.*", ("x-${tasks.t.job_name}-y",), ()),
    Shape("${item}", "item", rf"\s*{ITEM}\s*", ("${item}", "${item.k}"), (), strings_only=False),
    Shape("text with ${item}", "item", rf".*{ITEM}.*", ("x-${item.k}-y",), ()),
    Shape("text with ${dag_id}", "dag_id", rf".*{DAG_ID}.*", ("x-${dag_id}-y",), ()),
    Shape("${params.<name>}", "params", rf"\s*{PARAMS}\s*", ("${params.p}",), ("{{ params.p }}",)),
    Shape(
        "text with ${params.<name>}", "params", rf".*{PARAMS}.*", ("x${params.p}y",), ("x{{ params.p }}y",)
    ),
    Shape("${s3.<prefix>}", "s3", rf"\s*{S3_PREFIX}\s*", ("${s3.data}",), ("s3://my-bucket/some/prefix",)),
    Shape(
        "${s3.<prefix>}/key",
        "s3",
        rf"{S3_PREFIX}/.*",
        ("${s3.data}/train.csv", "${s3.data}/"),
        ("s3://my-bucket/some/prefix/", "s3://my-bucket/some/prefix/train.csv"),
    ),
    Shape("${s3.bucket}", "s3", rf"\s*{S3_BUCKET}\s*", ("${s3.bucket}",), ("my-bucket",)),
    Shape(
        "s3://${s3.bucket}/key",
        "s3",
        rf"s3://{S3_BUCKET}(?:/.*)?",
        ("s3://${s3.bucket}/train.csv",),
        ("s3://my-bucket", "s3://my-bucket/train.csv"),
    ),
    Shape(
        "s3://${params.<name>}/key",
        "params",
        rf"s3://{PARAMS}(?:/.*)?",
        ("s3://${params.p}/train.csv",),
        ("s3://{{ params.p }}/train.csv",),
    ),
)
# Shapes whose value the schema cannot know: accepted wherever a scalar is, checked by validate.
UNKNOWABLE = frozenset(s.label for s in SHAPES if not s.resolved)


def authored_view(source: dict) -> dict:
    """The authored-form schema derived from the resolved-form ``source`` (which is left unchanged)."""
    root = copy.deepcopy(source)
    root["$id"] = re.sub(r"[^/]+\.schema\.json$", f"{AUTHORED_NAME}.schema.json", root.get("$id", ""))
    root["$comment"] = (
        "Generated from pipeline.schema.json by `make schemas` (toolkit/generators/schema_views.py): "
        "do not edit. The schema of a pipeline as written, ${...} references included; validate checks "
        "the resolved data against pipeline.schema.json."
    )
    out = _Viewer(source).node(root)
    # The s3 block is what ${s3.*} resolves from: its own values are resolved without that scope.
    out["properties"]["s3"] = _Viewer(source, without={"s3"}).node(root["properties"]["s3"])
    out["$defs"]["task"] = _by_kind(out["$defs"]["task"])
    return out


def versioned(view: dict, version: str) -> dict:
    """``view`` as the editors' schema of one format version: its ``$id`` names the version's folder."""
    out = dict(view)
    out["$id"] = re.sub(
        r"[^/]+\.schema\.json$", f"{version}/{AUTHORED_NAME}.schema.json", view.get("$id", "")
    )
    out["$comment"] = f"Format version {version}. " + view.get("$comment", "")
    return out


def authored_node(source: dict, node: dict) -> dict:
    """The authored form of a resolved-form subschema written against ``source``'s ``$defs``: the same
    reference forms are accepted, with the same messages, as in the view of the source itself."""
    return _Viewer(source).node(copy.deepcopy(node))


def render(schema: dict) -> str:
    """The file text, formatted as the source schema is (2-space indent, ASCII, no final newline)."""
    return json.dumps(schema, indent=2)


class _Viewer:
    def __init__(self, source: dict, without: set[str] = frozenset()) -> None:
        self.defs: dict[str, Any] = source.get("$defs", {})
        self.without = without  # reference scopes not resolved where this viewer looks

    # --- what a subschema accepts -------------------------------------------------------------------
    def target(self, node: dict) -> dict:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return self.defs.get(ref.removeprefix("#/$defs/"), {})
        return {}

    def types(self, node: Any) -> set[str] | None:
        """The JSON types a subschema can accept; None when it says nothing about them (any value)."""
        if not isinstance(node, dict):
            return None
        found: set[str] | None = None

        def narrow(more: set[str] | None) -> None:
            nonlocal found
            if more is not None:
                found = set(more) if found is None else found & more

        if "$ref" in node:
            narrow(self.types(self.target(node)))
        if "type" in node:
            declared = {node["type"]} if isinstance(node["type"], str) else set(node["type"])
            narrow(declared | ({"integer"} if "number" in declared else set()))
        values = node.get("enum", [node["const"]] if "const" in node else None)
        if values is not None:
            narrow({_json_type(v) for v in values})
        for key in ("oneOf", "anyOf"):
            if key in node:
                branches = [self.types(b) for b in node[key]]
                narrow(None if any(b is None for b in branches) else set().union(*branches))
        if any(k in node for k in ("properties", "additionalProperties", "required", "propertyNames")):
            narrow({"object"})
        if "items" in node or "prefixItems" in node:
            narrow({"array"})
        return found

    def accepts(self, node: dict, value: Any) -> bool:
        return Draft202012Validator({**node, "$defs": self.defs}).is_valid(value)

    def shapes(self, node: dict) -> list[Shape]:
        """The reference forms that may stand where ``node`` is (in the resolved form)."""
        types = self.types(node) or set()
        allowed = []
        for shape in SHAPES:
            if shape.scope in self.without:
                continue
            if shape.strings_only and "string" not in types:
                continue
            if all(self.accepts(node, sample) for sample in shape.resolved):
                allowed.append(shape)
        return allowed

    # --- the view -----------------------------------------------------------------------------------
    def node(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        types = self.types(node)
        only_ref = "$ref" in node and not (set(node) - {"$ref", *ANNOTATIONS})
        if types and not only_ref and "const" not in node:  # a const selects a branch: keep it literal
            if types <= SCALARS:
                return self.leaf(node)
            if types & SCALARS and self._inline_scalar_branches(node):
                return self.leaf(node, mixed=True)
        return self.children(node)

    def children(self, node: dict) -> dict:
        out = dict(node)
        for key in _SUBSCHEMA_MAPS:
            if isinstance(node.get(key), dict):
                out[key] = {
                    # ``kind`` selects the task's schema: it is never a reference
                    name: sub if (key, name) == ("properties", "kind") else self.node(sub)
                    for name, sub in node[key].items()
                }
        for key in _SUBSCHEMA_ONE:
            if isinstance(node.get(key), dict):
                out[key] = self.node(node[key])
        for key in _SUBSCHEMA_LISTS:
            if isinstance(node.get(key), list):
                out[key] = [self.node(sub) for sub in node[key]]
        return out

    def compound_branches(self, node: dict) -> dict:
        """A mixed oneOf with its mapping and list branches viewed. Its scalar branches stay as they are:
        the reference forms are one more branch around it, never one per branch (a reference would then
        match several branches of a oneOf). String branches go first: on a tie yaml-language-server shows
        the first branch's message, and a type mismatch there would read "Expected null | array"."""
        out = dict(node)
        for key in ("oneOf", "anyOf"):
            if isinstance(node.get(key), list):
                branches = [b if (self.types(b) or set()) <= SCALARS else self.node(b) for b in node[key]]
                out[key] = sorted(branches, key=lambda b: "string" not in (self.types(b) or set()))
        return out

    def _inline_scalar_branches(self, node: dict) -> bool:
        branches = [*node.get("oneOf", []), *node.get("anyOf", [])]
        return any("$ref" not in b and (self.types(b) or set()) <= SCALARS for b in branches)

    def leaf(self, node: dict, mixed: bool = False) -> dict:
        """A scalar field (or the scalar part of a mixed one) that also takes its reference forms."""
        shapes = self.shapes(node)
        missing = [s for s in shapes if not all(self.accepts(node, w) for w in s.written)]
        if not missing:
            return self.compound_branches(node) if mixed else node
        message = _message(self.words(node), shapes)
        references = "^(?:" + "|".join(s.pattern for s in shapes) + ")$"
        folded = self._folded(node, references, message)
        if folded is not None:
            return folded
        core = self.compound_branches(node) if mixed else node
        core = _with_messages({k: v for k, v in core.items() if k not in ANNOTATIONS}, message)
        annotations = {k: node[k] for k in ANNOTATIONS if k in node}
        reference = {"type": "string", "pattern": references, "patternErrorMessage": message}
        return {**annotations, "anyOf": [core, {**reference, "errorMessage": message}]}

    def _folded(self, node: dict, references: str, message: str) -> dict | None:
        """A string with a pattern takes its reference forms in the same pattern: one schema, one message."""
        keys = set(node) - set(ANNOTATIONS)
        pattern = node.get("pattern")
        if node.get("type") != "string" or not isinstance(pattern, str) or not pattern.startswith("^"):
            return None
        if keys - {"type", "pattern", "minLength", "maxLength"}:
            return None
        literal = pattern
        if "minLength" in node or "maxLength" in node:
            bounds = f"{node.get('minLength', 0)},{node.get('maxLength', '')}"
            literal = f"(?=^[\\s\\S]{{{bounds}}}$)(?:{pattern})"
        out = {k: v for k, v in node.items() if k not in ("minLength", "maxLength")}
        out["pattern"] = f"(?:{literal})|(?:{references})"
        out["patternErrorMessage"] = message
        out["errorMessage"] = message
        return out

    def words(self, node: dict) -> str:
        """How a message names what a subschema expects: its title, else its values, branches or type."""
        if "$ref" in node:
            node = {**self.target(node), **{k: v for k, v in node.items() if k != "$ref"}}
        if node.get("title"):
            text = node["title"]
            if "maxLength" in node and "at most" not in text:
                text += f" (at most {node['maxLength']} characters)"
            return text
        if "enum" in node:
            values = node["enum"]
            if len(values) <= _LONG_ENUM:
                return "one of: " + ", ".join("null" if v is None else str(v) for v in values)
            return f"one of {len(values)} values"
        if "const" in node:
            return json.dumps(node["const"])
        for key in ("oneOf", "anyOf"):
            if key in node:
                parts = list(dict.fromkeys(self.words(b) for b in node[key] if isinstance(b, dict)))
                parts = [p for p in parts if p]
                return ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else "".join(parts)
        return _type_words(node)


def _by_kind(task: dict) -> dict:
    """``if kind == X`` as an exact pattern: an editor completing ``kind: training`` must not also match
    ``training_sensor`` (yaml-language-server compares ``const`` by prefix while completing)."""
    out = dict(task)
    rules = []
    for rule in task.get("allOf", []):
        kind = rule.get("if", {}).get("properties", {}).get("kind", {}).get("const")
        if not isinstance(kind, str):
            rules.append(rule)
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+", kind):
            raise ValueError(f"task kind {kind!r} needs escaping in a pattern")
        condition = {"properties": {"kind": {"pattern": f"^{kind}$"}}, "required": ["kind"]}
        rules.append({**rule, "if": condition})
    out["allOf"] = rules
    kind = dict(task["properties"]["kind"])
    kind["errorMessage"] = "Expected a task kind: " + ", ".join(kind["enum"]) + "."
    out["properties"] = {**task["properties"], "kind": kind}
    return out


def _with_messages(node: dict, message: str) -> dict:
    """``node`` and its inline scalar branches, each with the field's message (the server shows the
    message of whichever constraint failed)."""
    out = dict(node)
    for key in ("oneOf", "anyOf"):
        if isinstance(node.get(key), list):
            out[key] = [
                _with_messages(b, message) if isinstance(b, dict) and "$ref" not in b else b
                for b in node[key]
            ]
    scalar_type = node.get("type")
    scalar = isinstance(scalar_type, str) and scalar_type in SCALARS
    if scalar or "enum" in node or "const" in node or "pattern" in node:
        out.setdefault("errorMessage", message)
        if "pattern" in node:
            out.setdefault("patternErrorMessage", message)
    return out


# The reference forms a message suggests, when the field takes them (the others go without saying).
_SUGGESTED = ("${s3.<prefix>}/key", "${params.<name>}")


def _message(words: str, shapes: list[Shape]) -> str:
    labels = {s.label for s in shapes}
    shown = [*[label for label in _SUGGESTED if label in labels][:1], "${env.<name>}"]
    return f"Expected {words or 'another value'}, or a reference such as {' or '.join(shown)}."


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}


def _type_words(node: dict) -> str:
    declared = node.get("type")
    if declared is None:
        return ""
    names = [declared] if isinstance(declared, str) else list(declared)
    text = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        text += f" from {low} to {high}"
    elif low is not None:
        text += f" of at least {low}"
    elif high is not None:
        text += f" of at most {high}"
    return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
