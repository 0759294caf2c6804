"""Safe YAML loading that remembers where every value came from.

Why not ``yaml.safe_load``: errors must name the line and column of the offending field, duplicate keys
must be errors (a second ``train:`` task silently replacing the first is a real bug), and nothing in a
pipeline may construct Python objects or expand environment variables. So PyYAML's C parser only
produces the event stream, and this module builds plain JSON-like data from it: mappings, lists,
strings, numbers, booleans and null. Dates stay strings; the schema checks their form. Any explicit tag
other than the standard JSON-like ones is rejected.

Why events and not PyYAML's composed node tree: its C composer recurses once per nesting level, so a
flow sequence nested 50,000 deep (100 KB of ``[``) overflows the C stack and kills the process -
Airflow's whole parse - before any depth check could run. Built here from events with an explicit
stack, nothing recurses: the depth limit is met at the first level too deep, with its line and column.
Text limits (size, a NUL byte) are checked before the parser sees the text; alias expansion is budgeted
so that a "billion laughs" document fails fast instead of eating the scheduler's memory. Number forms
that YAML 1.1 (PyYAML) and YAML 1.2 (editors) read differently are reported (:mod:`.yaml_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError

from sagemaker_pipelines.format.yaml_text import check_text_limits, constructed, syntax_problem, too_long
from sagemaker_pipelines.problems import Code, Problem, field_path

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
MAX_KEY_CHARS = 256  # task ids, API fields, variable names: a longer key is a mistake
MAX_VALUE_CHARS = 65_536  # one string; long text belongs in include/ or the docs

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    _TIMESTAMP,
}
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_MAP = "tag:yaml.org,2002:map"
_YES_NO = frozenset("yYnN")
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = object()  # the key of a mapping whose value is being merged ('<<')
_MAPPING_END, _SEQUENCE_END = yaml.MappingEndEvent, yaml.SequenceEndEvent
_ALIAS, _SCALAR, _SEQUENCE_START = yaml.AliasEvent, yaml.ScalarEvent, yaml.SequenceStartEvent
# The tag PyYAML's resolver gives a short untagged scalar, by (text, implicit): a pure function of the
# two, and pipelines repeat the same values (instance types, modes, booleans). Emptied when full.
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}
_RESOLVED_MAX, _RESOLVED_CHARS = 8192, 128


@dataclass
class Document:
    """A loaded YAML document: its data, the position of each value and key, and problems found on the way
    that did not stop loading (number forms that YAML versions read differently)."""

    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_paths: set[Path_] = field(default_factory=set)  # where those are: the schema skips them
    # Unquoted y, Y, n, N: text to PyYAML and YAML 1.2, booleans to YAML 1.1 tools; semantics flags
    # them where a job reads them (hyperparameters).
    plain_yes_no: set[Path_] = field(default_factory=set)

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


def _mark(event: yaml.Event) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


class _Collection:
    """A mapping or sequence being built: where it is, what it holds so far, the key awaiting a value."""

    __slots__ = ("anchor", "is_map", "key", "merge_at", "merged", "merging", "path", "value")

    def __init__(self, path: Path_, value: Any, anchor: str | None, merging: bool = False):
        self.path = path
        self.value = value
        self.is_map = isinstance(value, dict)
        self.anchor = anchor
        self.key: Any = None  # a mapping's key whose value comes next (_MERGE for '<<')
        self.merge_at = (1, 1)  # where its last '<<' is written
        self.merged: dict[str, Any] = {}
        self.merging = merging  # the list of a '<<: [...]': its items are merged at the mapping's path


class _Builder:
    """Plain data from a stream of parser events, without recursion."""

    def __init__(self, loader: _Loader, file: str, text: str):
        self.loader = loader
        self.text = text
        self.file = file
        self.doc = Document(None)
        self.count = 0
        self.stack: list[_Collection] = []
        self.root: Any = None
        self.anchors: dict[str, list] = {}  # anchor -> its events, aliases inside replaced by their lists
        self.recording: dict[str, list] = {}  # anchors whose node is still open (an alias to one recurses)
        self.alias_path: Path_ | None = None  # where the outermost alias being expanded is used

    # --- problems -------------------------------------------------------------------------------
    def fail(self, event: yaml.Event | None, message: str, hint: str = "", path: Path_ = ()) -> YamlProblem:
        line, col = _mark(event) if event is not None else (1, 1)
        return YamlProblem(Problem(self.file, line, col, field_path(path), message, hint, code=Code.YAML))

    def fail_at(self, path: Path_, event: yaml.Event, message: str, hint: str = "") -> YamlProblem:
        """A problem at ``path``, located at the nearest key that names it (inside an expanded alias the
        events are the anchor's, so their positions would point elsewhere)."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.doc.keys:
                line, col = self.doc.keys[path[:n]]
                return YamlProblem(
                    Problem(self.file, line, col, field_path(path), message, hint, code=Code.YAML)
                )
        return self.fail(event, message, hint, path)

    # --- the event loop -------------------------------------------------------------------------
    def run(self) -> Any:
        loader = self.loader
        loader.get_event()  # StreamStart
        start = loader.get_event()
        if start.__class__ is yaml.StreamEndEvent:
            return None
        feed = self.feed
        event = loader.get_event()
        while event.__class__ is not yaml.DocumentEndEvent:
            feed(event)
            event = loader.get_event()
        other = loader.get_event()
        if other.__class__ is not yaml.StreamEndEvent:
            raise ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                other.start_mark,
            )
        return self.root

    def feed(self, event: yaml.Event) -> None:
        """One event of the document: a value, the start or end of a collection, or an alias."""
        cls = event.__class__
        if self.recording and self.alias_path is None:  # replayed events are recorded already
            for events in self.recording.values():
                events.append(self.anchors.get(event.anchor, []) if cls is _ALIAS else event)
        if cls is _MAPPING_END or cls is _SEQUENCE_END:
            self.close()
            return
        stack = self.stack
        top = stack[-1] if stack else None
        if top is None:
            path: Path_ = ()
        elif top.merging:
            path = top.path
        elif top.is_map:
            key = top.key
            if key is None:
                self.key(top, event)
                return
            path = top.path if key is _MERGE else (*top.path, key)
        else:
            path = (*top.path, len(top.value))
        if cls is _ALIAS:
            self.alias(event, path)
            return
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail_at(
                self.alias_path or path,
                event,
                f"the document expands to more than {MAX_NODES:,} values",
                "a YAML alias bomb? use fewer anchors/aliases",
            )
        if len(path) > MAX_DEPTH:
            line, col = _mark(event)
            where = field_path(path[:6]) + "..."  # the full path would repeat itself 64 times
            hint = "pipelines nest a few levels; is a bracket or an indentation repeated by mistake?"
            message = f"nesting deeper than {MAX_DEPTH} levels"
            raise YamlProblem(Problem(self.file, line, col, where, message, hint, code=Code.YAML))
        mark = event.start_mark
        self.doc.values.setdefault(path, (mark.line + 1, mark.column + 1))
        anchor = event.anchor if self.alias_path is None else None  # replayed events define nothing
        if anchor is not None and (anchor in self.anchors or anchor in self.recording):
            raise self.fail(
                event, f"the anchor '&{anchor}' is defined twice", "each anchor needs its own name"
            )
        if cls is _SCALAR:
            value = self.scalar(event, path)
            if anchor is not None:
                self.anchors[anchor] = [event]
            self.emit(value)
            return
        tag = event.tag
        if cls is _SEQUENCE_START:
            if tag not in (None, "!", _SEQ):
                raise self._bad_tag(event, tag, path)
            merging = top is not None and top.key is _MERGE and not top.merging
            stack.append(_Collection(path, [], anchor, merging))
        else:
            if tag not in (None, "!", _MAP):
                raise self._bad_tag(event, tag, path)
            stack.append(_Collection(path, {}, anchor))
        if anchor is not None:
            self.recording[anchor] = [event]

    def key(self, mapping: _Collection, event: yaml.Event) -> None:
        if isinstance(event, yaml.AliasEvent):
            events = self.anchors.get(event.anchor)
            if events is None or len(events) != 1:
                raise self.fail(event, "mapping keys must be plain strings", path=mapping.path)
            event = events[0]
        if not isinstance(event, yaml.ScalarEvent) or event.tag not in (None, "!", *_SCALAR_TAGS):
            raise self.fail(event, "mapping keys must be plain strings", path=mapping.path)
        if event.tag is None and event.value == "<<" and event.implicit[0]:
            mapping.key = _MERGE
            mapping.merge_at = _mark(event)
            return
        if event.anchor is not None and self.alias_path is None:
            self.anchors[event.anchor] = [event]
        key = event.value
        path = (*mapping.path, key)
        if len(key) > MAX_KEY_CHARS:
            message = f"a key of {len(key):,} characters; keys are at most {MAX_KEY_CHARS}"
            raise self.fail(event, message, "is a value written where a key belongs?", mapping.path)
        if key in mapping.value:
            first = self.doc.keys[path]
            raise self.fail(
                event,
                f"duplicate key '{key}'",
                f"first defined at line {first[0]}, column {first[1]}; each key may appear once",
                path,
            )
        self.doc.keys[path] = _mark(event)
        mapping.key = key

    def alias(self, event: yaml.AliasEvent, path: Path_) -> None:
        name = event.anchor
        if name in self.recording:
            raise self.fail_at(path, event, "recursive alias: a value contains itself")
        events = self.anchors.get(name)
        if events is None:
            raise self.fail(event, f"found undefined alias '*{name}'", "define '&name' before using '*name'")
        outer = self.alias_path
        if outer is None:
            self.alias_path = path
        # Replay the anchor's events; an alias inside them is a nested list. An explicit stack: no recursion.
        pending = [iter(events)]
        while pending:
            item = next(pending[-1], None)
            if item is None:
                pending.pop()
            elif isinstance(item, list):
                pending.append(iter(item))
            else:
                self.feed(item)
        self.alias_path = outer

    def close(self) -> None:
        done = self.stack.pop()
        if done.anchor is not None:
            self.anchors[done.anchor] = self.recording.pop(done.anchor)
        value = done.value
        if isinstance(value, dict):
            for k, v in done.merged.items():
                value.setdefault(k, v)
        if done.merging:
            self.stack[-1].key = None  # the merge list is consumed item by item; nothing left to add
            return
        self.emit(value)

    def emit(self, value: Any) -> None:
        """A finished value goes to its parent: a list item, a mapping's value, a merge source, the root."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if not top.is_map and not top.merging:
            top.value.append(value)
            return
        mapping = self.stack[-2] if top.merging else top
        if top.merging or mapping.key is _MERGE:
            if not isinstance(value, dict):
                message = "a merge key '<<' needs a mapping or a list of mappings"
                line, col = mapping.merge_at
                raise YamlProblem(
                    Problem(self.file, line, col, field_path(mapping.path), message, code=Code.YAML)
                )
            for k, v in value.items():
                mapping.merged.setdefault(k, v)
        else:
            mapping.value[mapping.key] = value
        if not top.merging:
            mapping.key = None

    def _bad_tag(self, event: yaml.Event, tag: str, path: Path_) -> YamlProblem:
        return self.fail(
            event,
            f"the YAML tag '{tag}' is not allowed",
            "pipelines hold plain data: strings, numbers, booleans, lists and mappings",
            path,
        )

    def scalar(self, event: yaml.ScalarEvent, path: Path_) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            text, implicit = event.value, event.implicit
            if len(text) > _RESOLVED_CHARS:
                tag = self.loader.resolve(yaml.ScalarNode, text, implicit)
            else:
                tag = _RESOLVED.get((text, implicit))
                if tag is None:
                    if len(_RESOLVED) >= _RESOLVED_MAX:
                        _RESOLVED.clear()
                    tag = self.loader.resolve(yaml.ScalarNode, text, implicit)
                    _RESOLVED[text, implicit] = tag
        if tag not in _SCALAR_TAGS:
            raise self._bad_tag(event, tag, path)
        text = event.value
        if len(text) > MAX_VALUE_CHARS:
            raise self.fail(event, *too_long(self.text, event, len(text), MAX_VALUE_CHARS), path)
        if tag in (_STR, _TIMESTAMP):
            if text in _YES_NO and event.implicit[0]:
                self.doc.plain_yes_no.add(path)
            return text
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == _INT and text.isdigit() and (text[0] != "0" or text == "0"):
            return int(text)  # the common case, with nothing to report
        if tag == _BOOL and text in ("true", "false"):
            return text == "true"
        value, surprise = constructed(tag, text)
        if surprise:
            line, col = _mark(event)
            message, hint = surprise
            self.doc.problems.append(
                Problem(self.file, line, col, field_path(path), message, hint, code=Code.YAML)
            )
            self.doc.problem_paths.add(path)
        return value


def load_document(text: str, file: str) -> Document:
    """Parse one YAML document into plain data with positions; raise :class:`YamlProblem` on any error."""
    limit = check_text_limits(text, file)
    if limit is not None:
        raise YamlProblem(limit)
    loader = _Loader(text)
    builder = _Builder(loader, file, text)
    try:
        builder.doc.data = builder.run()
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem(syntax_problem(text, file, exc)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, 1, 1, "", f"YAML error: {exc}", code=Code.YAML)) from None
    finally:
        loader.dispose()
    return builder.doc
