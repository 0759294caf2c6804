"""Safe YAML loading that remembers where every value came from.

Why not ``yaml.safe_load``: errors must name the line and column of the offending field, duplicate keys
must be errors (a second ``train:`` task silently replacing the first is a real bug), and nothing in a
pipeline may construct Python objects or expand environment variables. So PyYAML (its C parser where
present) only composes the node tree, and this module builds plain JSON-like data from it: mappings,
lists, strings, numbers, booleans and null. Dates stay strings; the schema checks their form.
Any explicit tag other than the standard JSON-like ones is rejected, and alias expansion is budgeted
so that a "billion laughs" document fails fast instead of eating the scheduler's memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from sagemaker_pipelines.problems import Problem

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """Safe loading, plus YAML 1.2's exponent floats: ``1e-4`` is a number, as a data scientist means it.

    (YAML 1.1, which PyYAML follows, needs a dot and a signed exponent - ``1.0e-4`` - and would read
    ``learning_rate: 1e-4`` or a tuning range's ``min: 1e-4`` as text.) Quoted values stay text.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

Path_ = tuple  # a document path: keys and list indexes from the root

MAX_NODES = 100_000  # values built from one document, aliases expanded; real pipelines use < 2,000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

_scalars = yaml.SafeLoader("")  # only its construct_yaml_* methods are used, never its parser


@dataclass
class Document:
    """A loaded YAML document: its data and the position of each value and each mapping key."""

    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """Best position for a problem at ``path``: the key that names it, else the value, else its parent."""
        path = tuple(path)
        while True:
            if path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def value_position(self, path: Path_) -> tuple[int, int]:
        path = tuple(path)
        return self.values.get(path) or self.position(path)


class YamlProblem(Exception):
    """A document that cannot be loaded at all; carries the one problem that stopped it."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.format())


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.doc = Document(None)
        self.count = 0
        self.active: set[int] = set()
        self.built: set[int] = set()  # ids of collection nodes already built: seeing one again is an alias
        self.alias_path: Path_ | None = None  # where the outermost alias being expanded is used

    def fail(self, node: yaml.Node | None, message: str, hint: str = "", path: Path_ = ()) -> YamlProblem:
        from sagemaker_pipelines.problems import field_path

        line, col = _mark(node) if node is not None else (1, 1)
        return YamlProblem(Problem(self.file, line, col, field_path(path), message, hint, code="yaml"))

    def fail_at(self, path: Path_, node: yaml.Node, message: str, hint: str = "") -> YamlProblem:
        """A problem at ``path``, located at the nearest key that names it (an alias's own position is
        not kept by the parser: only its anchor's is)."""
        from sagemaker_pipelines.problems import field_path

        for n in range(len(path), 0, -1):
            if path[:n] in self.doc.keys:
                line, col = self.doc.keys[path[:n]]
                return YamlProblem(
                    Problem(self.file, line, col, field_path(path), message, hint, code="yaml")
                )
        return self.fail(node, message, hint, path)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail_at(
                self.alias_path or path,
                node,
                f"the document expands to more than {MAX_NODES:,} values",
                "a YAML alias bomb? use fewer anchors/aliases",
            )
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels", path=path)
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.fail_at(path, node, "recursive alias: a value contains itself")
        self.active.add(id(node))
        outer_alias = self.alias_path
        if id(node) in self.built and outer_alias is None:
            self.alias_path = path
        self.built.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    raise self._bad_tag(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if node.tag != _MAP:
                raise self._bad_tag(node, path)
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
            self.alias_path = outer_alias

    def _bad_tag(self, node: yaml.Node, path: Path_) -> YamlProblem:
        return self.fail(
            node,
            f"the YAML tag '{node.tag}' is not allowed",
            "pipelines hold plain data: strings, numbers, booleans, lists and mappings",
            path,
        )

    def scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise self._bad_tag(node, path)
        if tag in (_STR, "tag:yaml.org,2002:timestamp"):
            return node.value
        if tag == "tag:yaml.org,2002:int":
            return _scalars.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:float":
            return _scalars.construct_yaml_float(node)
        if tag == "tag:yaml.org,2002:bool":
            return _scalars.construct_yaml_bool(node)
        return None

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    value = self.build(source, path)
                    if not isinstance(value, dict):
                        raise self.fail(
                            source, "a merge key '<<' needs a mapping or a list of mappings", path=path
                        )
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise self.fail(key_node, "mapping keys must be plain strings", path=path)
            key = key_node.value
            if key in result:
                first = self.doc.keys[(*path, key)]
                raise self.fail(
                    key_node,
                    f"duplicate key '{key}'",
                    f"first defined at line {first[0]}, column {first[1]}; each key may appear once",
                    (*path, key),
                )
            self.doc.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key))
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


_CLOSERS = {"a flow sequence": "']'", "a flow mapping": "'}'", "a quoted scalar": "closing quote"}


def _syntax_hint(text: str, exc: yaml.MarkedYAMLError, line: int, col: int) -> str:
    """What usually causes a syntax error: a tab, an unclosed bracket or quote, a misaligned key."""
    lines = text.splitlines()
    found = lines[line - 1][col - 1 : col] if 0 < line <= len(lines) else ""
    if found == "\t":
        return "YAML does not allow tab characters for indentation; indent with spaces"
    if found in ("{", "}") and "flow" in (exc.context or ""):
        return "inside [ ] or { }, quote a value that holds '{' or '}', like \"${s3.input}/x\""
    mark = exc.context_mark
    if not exc.context or mark is None or (mark.line + 1, mark.column + 1) == (line, col):
        return ""
    opened = exc.context.removeprefix("while parsing ").removeprefix("while scanning ")
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if opened in _CLOSERS:
        return f"is a {_CLOSERS[opened]} missing? {opened} starts at {where}"
    if opened.startswith("a block"):
        return f"check the indentation: {opened} starts at {where}"
    return f"{opened} starts at {where}"


def load_document(text: str, file: str) -> Document:
    """Parse one YAML document into plain data with positions; raise :class:`YamlProblem` on any error."""
    loader = _Loader(text)
    builder = _Builder(file)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or str(exc)
        if exc.context:
            message = f"{exc.context}, {message}"
        hint = _syntax_hint(text, exc, line, col)
        raise YamlProblem(
            Problem(file, line, col, "", f"YAML syntax error: {message}", hint, code="yaml")
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, 1, 1, "", f"YAML error: {exc}", code="yaml")) from None
    finally:
        loader.dispose()
    if node is None:
        builder.doc.data = None
        return builder.doc
    builder.doc.data = builder.build(node, ())
    return builder.doc
