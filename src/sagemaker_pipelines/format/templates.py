"""Jinja templates in YAML values, checked by parsing them as Airflow will and walking an allow-list.

Airflow renders every string of a task's templated fields with the task's context when the task runs,
and logs the rendered fields. That context reaches far: ``conn`` and ``var`` read connections and
Variables, and objects such as ``ti``, ``dag_run``, ``task`` or ``macros`` lead, through attributes,
calls and subscripts, to the same secrets (``ti.get_template_context()['conn']``, ``dag_run.get_dag()``,
``lipsum.__globals__``...). A pattern over the text cannot tell all spellings apart, so each template is
parsed - never rendered - with a Jinja environment configured like Airflow's (``jinja_environment``;
a test compares it with Airflow's own), and its syntax tree is walked with the allow-list of
``template_allowed.py``:

- names: the run's dates and ids (``ds``, ``ts``, ``logical_date``, ``data_interval_*``, ``run_id``...),
  ``params``, a few fields of ``ti``/``task_instance``, ``dag_run``, ``dag`` and ``task``, the date
  helpers of ``macros``, and loop variables; ``conn`` and ``var`` only where the environment allows
  them (``allow_templates``);
- attributes and subscripts: only those listed for an object, any non-underscore constant one on plain
  data (``params.x``, ``dag_run.conf['k']``, what ``ti.xcom_pull`` returned); never a name built at run
  time (``context['co' ~ 'nn']``, ``|attr(...)``) and never one starting with ``_``;
- calls: ``ti.xcom_pull``, the listed ``macros``, a few string/mapping methods on data and date methods
  on dates; filters and tests that only transform a value (not ``attr``; ``map``, ``selectattr`` and
  ``rejectattr`` only with a constant field name);
- statements: ``{% if %}`` and ``{% for %}`` only - no ``set``, ``with``, ``macro``, ``import``,
  ``include``, ``extends``, ``do``, blocks.

The work is linear in the text: Jinja's lexer is, the bracket nesting is bounded before the (recursive)
parser runs, and the tree's depth is bounded before the (recursive) walk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

import jinja2
import jinja2.sandbox
from jinja2 import nodes

from sagemaker_pipelines.format import template_allowed as allowed
from sagemaker_pipelines.format.template_allowed import DATA, DATE, LOOP, REFUSED, SCOPE

SCOPES = {"conn": "an Airflow connection", "var": "an Airflow Variable"}
MAX_NESTING = 64  # brackets inside one template; real templates use a handful
DELIMITERS = ("{{", "{%", "{#")

_STATEMENTS = {
    nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.With: "{% with %}",
    nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}", nodes.FilterBlock: "{% filter %}",
    nodes.Import: "{% import %}", nodes.FromImport: "{% from ... import %}", nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}", nodes.Block: "{% block %}", nodes.ExprStmt: "{% do %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}", nodes.EvalContextModifier: "{% autoescape %}",
}  # fmt: skip


@dataclass(frozen=True)
class Refusal:
    """One thing a template does that a pipeline template may not: ``scope`` is ``conn`` or ``var``
    when it reads those (the environment could allow it), else ``""``; ``form`` is ``syntax`` when Jinja
    cannot parse the value, ``nesting`` when it is too deep to check, else ``""``."""

    what: str
    scope: str = ""
    form: str = ""


@cache
def jinja_environment() -> jinja2.Environment:
    """A Jinja environment that parses as Airflow's task templates do (``create_template_env``: the
    sandbox, default delimiters, the ``do`` extension). Only parsed with, never rendered: plain jinja2,
    so validating does not import Airflow."""
    return jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0
    )


def has_template(text: str) -> bool:
    """True when Airflow would find Jinja syntax in ``text`` (a block, an expression or a comment)."""
    return any(d in text for d in DELIMITERS)


def check_template(text: str, allowed_scopes: Collection[str] = ()) -> list[Refusal]:
    """What in ``text`` a pipeline template may not do, in order; ``[]`` when all of it is allowed."""
    if not has_template(text):
        return []
    if len(text) <= _CACHED_CHARS:
        return list(_cached_refusals(text, frozenset(allowed_scopes)))
    return _refusals(text, allowed_scopes)


_CACHED_CHARS = 1024  # pipelines repeat the same short templates ({{ params.k }}, {{ ds }}): parse each once


@lru_cache(maxsize=4096)
def _cached_refusals(text: str, allowed_scopes: frozenset[str]) -> tuple[Refusal, ...]:
    return tuple(_refusals(text, allowed_scopes))


def _refusals(text: str, allowed_scopes: Collection[str]) -> list[Refusal]:
    env = jinja_environment()
    try:
        depth = _bracket_depth(env.lex(text))
        if depth > MAX_NESTING:
            return [Refusal(f"brackets nested {depth} deep (at most {MAX_NESTING})", form="nesting")]
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [
            Refusal(f"a Jinja syntax error at line {exc.lineno} of the value: {exc.message}", form="syntax")
        ]
    except RecursionError:  # a long chain of unary operators: Jinja's parser recurses on each
        return [Refusal("an expression nested too deeply", form="nesting")]
    if _tree_depth(tree) > 4 * MAX_NESTING:
        return [Refusal("an expression nested too deeply", form="nesting")]
    walker = _Walker(set(allowed_scopes))
    walker.statements(tree.body)
    return walker.refusals


def replace_expressions(text: str, replace: Callable[[str], str]) -> str:
    """Each ``{{ ... }}`` of ``text`` (to its first ``}}``, on one line) replaced by ``replace(it)``: what
    ``re.sub(r"\\{\\{.*?\\}\\}", ...)`` does, in one linear pass (that regex retries from every ``{{``
    that has no ``}}`` after it on its line, which is quadratic in a value full of ``{{``)."""
    out: list[str] = []
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            break
        newline = text.find("\n", start, end)
        if newline != -1:  # no expression starts before this newline: none ends on its line
            out.append(text[pos : newline + 1])
            pos = newline + 1
            continue
        out += [text[pos:start], replace(text[start : end + 2])]
        pos = end + 2
    out.append(text[pos:])
    return "".join(out)


def _bracket_depth(tokens: Iterator[tuple[int, str, str]]) -> int:
    depth = deepest = 0
    for _line, kind, value in tokens:
        if kind == "operator" and value in ("(", "[", "{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                break  # enough to refuse: the rest is not lexed
        elif kind == "operator" and value in (")", "]", "}"):
            depth = max(depth - 1, 0)
        elif kind.endswith("_end"):
            depth = 0
    return deepest


def _tree_depth(tree: nodes.Node) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


class _Walker:
    """Walks a parsed template; ``kind`` of each expression says what may be done with it next."""

    def __init__(self, allowed_scopes: set[str]):
        self.allowed_scopes = allowed_scopes
        self.refusals: list[Refusal] = []
        self.local_names: list[set[str]] = []

    def refuse(self, what: str, scope: str = "") -> str:
        refusal = Refusal(what, scope)
        if refusal not in self.refusals:
            self.refusals.append(refusal)
        return REFUSED

    def statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        self.plain(child)
            elif isinstance(node, nodes.If):
                self.plain(node.test)
                self.statements(node.body)
                for branch in node.elif_:
                    self.statements([branch])
                self.statements(node.else_)
            elif isinstance(node, nodes.For):
                self.loop(node)
            else:
                self.refuse(_STATEMENTS.get(type(node), f"a {type(node).__name__} statement"))

    def loop(self, node: nodes.For) -> None:
        if node.recursive:
            self.refuse("a recursive {% for %}")
        self.plain(node.iter)
        targets = [node.target, *node.target.find_all(nodes.Name)]
        names = {n.name for n in targets if isinstance(n, nodes.Name)} | {"loop"}
        self.local_names.append(names)
        if node.test is not None:
            self.plain(node.test)
        self.statements(node.body)
        self.local_names.pop()
        self.statements(node.else_)

    def kind(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Const):
            return DATA
        if isinstance(node, nodes.Name):
            return self.name(node.name)
        if isinstance(node, nodes.Getattr):
            return self.field(self.kind(node.node), node.attr, _describe(node))
        if isinstance(node, nodes.Getitem):
            return self.item(node)
        if isinstance(node, nodes.Call):
            return self.call(node)
        if isinstance(node, nodes.Filter | nodes.Test):
            return self.filter_or_test(node)
        if isinstance(node, nodes.Concat):
            for child in node.nodes:
                self.plain(child)
            return DATA
        if isinstance(node, nodes.BinExpr):
            self.plain(node.left)
            self.plain(node.right)
            return DATA
        if isinstance(node, nodes.UnaryExpr):
            self.plain(node.node)
            return DATA
        if isinstance(node, nodes.Compare):
            self.plain(node.expr)
            for operand in node.ops:
                self.plain(operand.expr)
            return DATA
        if isinstance(node, nodes.CondExpr):
            self.plain(node.test)
            kinds = {self.plain(node.expr1), self.plain(node.expr2) if node.expr2 else DATA}
            return kinds.pop() if len(kinds) == 1 else DATA  # never an object: plain refused those
        if isinstance(node, nodes.Tuple | nodes.List):
            for child in node.items:
                self.plain(child)
            return DATA
        if isinstance(node, nodes.Dict):
            for pair in node.items:
                self.plain(pair.key)
                self.plain(pair.value)
            return DATA
        if isinstance(node, nodes.Slice):
            for part in (node.start, node.stop, node.step):
                if part is not None:
                    self.plain(part)
            return DATA
        return self.refuse(f"a {type(node).__name__} expression")

    def plain(self, node: nodes.Node) -> str:
        """A value that is output, tested, iterated, combined or passed on: data, a date or an allowed
        scope, never an object of the context (``{% for k, v in dag_run %}`` would reach its fields)."""
        kind = self.kind(node)
        if kind in allowed.OBJECTS:
            return self.refuse(f"'{_describe(node)}' as a value (only its listed fields)")
        return kind

    def name(self, name: str) -> str:
        if any(name in names for names in self.local_names):
            return LOOP if name == "loop" else DATA
        if name in SCOPES:
            if name in self.allowed_scopes:
                return SCOPE
            return self.refuse(f"'{name}' ({SCOPES[name]})", scope=name)
        if name in allowed.CONTEXT:
            return allowed.CONTEXT[name]
        return self.refuse(f"the name '{name}'")

    def field(self, base: str, attr: str, shown: str) -> str:
        """``base.attr`` (or ``base['attr']``, which Jinja answers with the attribute when there is one)."""
        if base == REFUSED:
            return REFUSED
        if attr.startswith("_"):
            return self.refuse(f"'{shown}' (an attribute starting with '_')")
        if base in (DATA, SCOPE):
            return base
        table = allowed.OBJECTS.get(base) or (allowed.DATE_FIELDS if base == DATE else {})
        if base == LOOP and attr in allowed.LOOP_FIELDS:
            return DATA
        if attr in table:
            return table[attr]
        return self.refuse(f"'{shown}'")

    def item(self, node: nodes.Getitem) -> str:
        base = self.kind(node.node)
        key = node.arg
        if isinstance(key, nodes.Neg) and isinstance(key.node, nodes.Const) and type(key.node.value) is int:
            key = nodes.Const(-key.node.value)  # x[-1]
        if isinstance(key, nodes.Slice) and base == DATA:
            self.kind(key)
            return DATA
        if not isinstance(key, nodes.Const) or not isinstance(key.value, str | int):
            self.kind(key)
            if base == REFUSED:
                return REFUSED
            return self.refuse(f"'{_describe(node)}' (a subscript that is not a constant name or number)")
        if isinstance(key.value, int):
            return base if base in (DATA, SCOPE) else self.refuse(f"'{_describe(node)}'")
        return self.field(base, key.value, _describe(node))

    def call(self, node: nodes.Call) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.refuse(f"'{_describe(node.node)}(*...)' (arguments unpacked at run time)")
        for argument in [*node.args, *(k.value for k in node.kwargs)]:
            self.plain(argument)
        callee = node.node
        if not isinstance(callee, nodes.Getattr):
            self.kind(callee)
            return self.refuse(f"a call to '{_describe(callee)}'")
        base = self.kind(callee.node)
        if base == REFUSED:
            return REFUSED
        method = callee.attr
        if base == DATA and method in allowed.DATA_METHODS:
            return DATA
        if base == SCOPE and method in allowed.SCOPE_METHODS:
            return SCOPE
        entry = (allowed.OBJECTS.get(base) or (allowed.DATE_FIELDS if base == DATE else {})).get(method, "")
        if entry.startswith("call:"):
            return entry.removeprefix("call:")
        if method.startswith("_"):
            return self.refuse(f"'{_describe(callee)}' (an attribute starting with '_')")
        return self.refuse(f"a call to '{_describe(callee)}'")

    def filter_or_test(self, node: nodes.Filter | nodes.Test) -> str:
        names, word = (
            (allowed.FILTERS, "filter") if isinstance(node, nodes.Filter) else (allowed.TESTS, "test")
        )
        if word == "filter" and node.name in allowed.FIELD_FILTERS:
            self.field_filter(node)
        elif node.name not in names:
            self.refuse(f"the {word} '{node.name}'")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.refuse(f"the {word} '{node.name}' with arguments unpacked at run time")
        for argument in [*node.args, *(k.value for k in node.kwargs)]:
            self.plain(argument)
        if node.node is not None:
            self.plain(node.node)
        return DATA

    def field_filter(self, node: nodes.Filter) -> None:
        """``selectattr``/``rejectattr`` with a constant field name and an allowed test; ``map`` with a
        constant ``attribute=`` only (its positional form names another filter, which could be ``attr``)."""
        if node.name == "map":
            fields = [k.value for k in node.kwargs if k.key == "attribute"]
            shaped = not node.args and len(node.kwargs) == len(fields) == 1
        else:
            fields = node.args[:1]
            test = node.args[1] if len(node.args) > 1 else None
            shaped = (
                not node.kwargs
                and bool(fields)
                and (test is None or (isinstance(test, nodes.Const) and test.value in allowed.TESTS))
            )
        name = fields[0].value if fields and isinstance(fields[0], nodes.Const) else None
        if not shaped or not isinstance(name, str) or any(p.startswith("_") for p in name.split(".")):
            self.refuse(f"the filter '{node.name}' without a constant field name")


def _describe(node: nodes.Node) -> str:
    """The source-like spelling of a name, attribute or subscript chain, for messages."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        key = repr(node.arg.value) if isinstance(node.arg, nodes.Const) else "..."
        return f"{_describe(node.node)}[{key}]"
    if isinstance(node, nodes.Call):
        return f"{_describe(node.node)}(...)"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return "(...)"
