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

from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import Problem

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

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

    def fail(self, node: yaml.Node | None, message: str, hint: str = "", path: Path_ = ()) -> YamlProblem:
        from .problems import field_path

        line, col = _mark(node) if node is not None else (1, 1)
        return YamlProblem(Problem(self.file, line, col, field_path(path), message, hint, code="yaml"))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                f"the document expands to more than {MAX_NODES:,} values",
                "a YAML alias bomb? use fewer anchors/aliases",
                path,
            )
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels", path=path)
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.fail(node, "recursive alias: a value contains itself", path=path)
        self.active.add(id(node))
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
        raise YamlProblem(
            Problem(file, line, col, "", f"YAML syntax error: {message}", code="yaml")
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
