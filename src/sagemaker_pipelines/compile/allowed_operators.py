"""``kind: operator``: any Airflow operator class the platform team lists in an environment.

dag-factory lets a YAML file name any class; that is an import, and so code, chosen by whoever edits
the file. Here a task may name a class only when the chosen environment's ``allowed_operators`` (in
``environments/<env>.yaml``, owned by the platform team) lists that exact dotted path. The check runs
before anything is imported: a class that is not listed is refused by name and never imported, at
parse, validate or build time. A listed class is imported by ``validate`` so that the task's
``arguments`` can be checked against its ``__init__`` signatures (walked along the MRO, since
operators pass ``**kwargs`` up to ``BaseOperator``).

Arguments are plain data. Those that are the task's own fields (``task_id``, ``retries``, callbacks,
``pre_execute``, ...) or that dag-factory turns into imports or code (``python_callable``,
``execution_date_fn``, ``*_lambda``, ...) are refused, and run-time values (``${params...}``,
``${tasks...}``, any ``{{ }}``) are accepted only in the class's ``template_fields``.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.compile.connections import allowed_connections, is_connection_argument
from sagemaker_pipelines.problems import Code, Problem, field_path

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.kinds.context import TaskContext
    from sagemaker_pipelines.format.environment import Environment
    from sagemaker_pipelines.format.yaml_source import Document

KIND = "operator"
# The kinds table's row names the base of every allowed class: its module is one Airflow pre-imports.
BASE_OPERATOR = "airflow.sdk.bases.operator.BaseOperator"

# Arguments a pipeline sets through the task's own fields, and which field that is.
OWNED_ARGUMENTS: dict[str, str] = {
    "task_id": "the task's key under tasks:",
    "dag": "the pipeline itself",
    "retries": "the task field retries",
    "retry_delay": "the task field retry_delay",
    "execution_timeout": "the task field execution_timeout",
    "trigger_rule": "the task field trigger_rule",
    "pool": "the task field pool",
    "doc_md": "the task field doc",
    "doc": "the task field doc",
    "depends_on_past": "default_args.depends_on_past",
    "default_args": "the pipeline's default_args",
    "params": "the pipeline's params",
    "task_group": "the task's group",
}
# Set by the pipeline or the platform, never by a task's arguments: code, scheduling and identity.
_BASE_ONLY = "an Airflow task setting that pipelines do not set per task"
# Names dag-factory reads from a task's arguments to import or evaluate code, or to restructure the task.
DAG_FACTORY_ARGUMENTS = frozenset(
    {
        "operator",
        "decorator",
        "dependencies",
        "task_group_name",
        "expand",
        "partial",
        "python_callable",
        "python_callable_name",
        "python_callable_file",
        "execution_date_fn",
        "execution_date_fn_name",
        "execution_date_fn_file",
        "variables_as_arguments",
        "success_check_name",
        "success_check_file",
        "success_check_lambda",
        "failure_check_name",
        "failure_check_file",
        "failure_check_lambda",
        "response_check_name",
        "response_check_file",
        "response_check_lambda",
        *(
            f"on_{event}_callback{suffix}"
            for event in ("execute", "success", "failure", "retry", "skipped")
            for suffix in ("", "_name", "_file")
        ),
    }
)


# What the compiler itself adds to every task from its fields (compiler._task_args).
_COMPILED_TASK_ARGUMENTS = frozenset(
    {"retries", "retry_delay", "execution_timeout", "trigger_rule", "pool", "doc_md", "pre_execute"}
)


class OperatorNotAllowed(ValueError):
    """A class that the environment does not list (raised before anything is imported)."""


@dataclass(frozen=True)
class Signature:
    """What an operator class's ``__init__`` chain accepts."""

    accepted: frozenset[str]  # the class's own arguments (BaseOperator's excluded)
    required: tuple[str, ...]  # arguments without a default
    base: frozenset[str]  # BaseOperator's arguments: the task's fields own them
    template_fields: tuple[str, ...]
    # (argument, default) of each connection argument with a default: the connection used when unset
    connection_defaults: tuple[tuple[str, str], ...] = ()


def operator_of(ctx: TaskContext) -> str:
    """The class a ``kind: operator`` task names (the kinds table's operator is only its base)."""
    return ctx.get("operator")


def compile_operator(ctx: TaskContext) -> dict[str, Any]:
    """The task's arguments as they are, plus the pipeline's AWS connection when the class takes one."""
    arguments = dict(ctx.get("arguments") or {})
    signature = signature_of(allowed_class(ctx.pipeline.environment, operator_of(ctx)))
    if "aws_conn_id" in signature.accepted and "aws_conn_id" not in arguments:
        arguments["aws_conn_id"] = ctx.pipeline.aws_conn_id
    return arguments


def ensure_allowed(environment: Environment, dotted: str) -> None:
    """Raise :class:`OperatorNotAllowed` unless ``environment`` lists ``dotted``; imports nothing."""
    if dotted not in environment.allowed_operators:
        listed = ", ".join(environment.allowed_operators) or "none"
        raise OperatorNotAllowed(
            f"operator {dotted!r} is not in the allowed_operators of environment "
            f"'{environment.name}' ({environment.file}; allowed: {listed})"
        )


def allowed_class(environment: Environment, dotted: str) -> type:
    """The class at ``dotted``, imported only once the environment's list is seen to contain it."""
    ensure_allowed(environment, dotted)
    return _import_class(dotted)


@cache
def _import_class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if not isinstance(cls, type):
        raise TypeError(f"{dotted} is a {type(cls).__name__}, not a class")
    return cls


@cache
def signature_of(cls: type) -> Signature:
    """The arguments along the ``__init__`` chain: each class's own, up the MRO while an ``__init__``
    passes ``**kwargs`` on; ``BaseOperator``'s are listed apart (the task's fields own them)."""
    from airflow.sdk import BaseOperator

    accepted: dict[str, bool] = {}  # name -> required
    defaults: dict[str, str] = {}  # connection argument -> its default connection id
    base: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        named = [p for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if klass is BaseOperator:
            base = {p.name for p in named}
            break
        for p in named:
            accepted.setdefault(p.name, p.default is p.empty)
            if is_connection_argument(p.name) and isinstance(p.default, str):
                defaults.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return Signature(
        accepted=frozenset(accepted),
        required=tuple(n for n, required in accepted.items() if required),
        base=frozenset(base) - frozenset(accepted),
        template_fields=tuple(getattr(cls, "template_fields", ())),
        connection_defaults=tuple(sorted(defaults.items())),
    )


def _templates(value: Any, path: tuple) -> list[tuple]:
    """Paths below ``path`` whose text holds a Jinja template (``${params...}`` and outputs become one)."""
    if isinstance(value, str):
        return [path] if "{{" in value or "{%" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _templates(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _templates(v, (*path, i))]
    return []


class _TaskCheck:
    def __init__(self, doc: Document, file: str, environment: Environment, task_id: str, task: dict):
        self.doc, self.file, self.environment = doc, file, environment
        self.base = ("tasks", task_id)
        self.task = task
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str, hint: str = "", value: bool = False) -> None:
        line, col = self.doc.value_position(path) if value else self.doc.position(path)
        self.problems.append(
            Problem(self.file, line, col, field_path(path), message, hint, code=Code.OPERATOR)
        )

    def run(self) -> list[Problem]:
        dotted = self.task.get("operator")
        where = (*self.base, "operator")
        listed = self.environment.allowed_operators
        if dotted not in listed:  # refused by name: nothing is imported
            import difflib  # an error path's: every fresh process that parses a DAG file imports this module

            close = difflib.get_close_matches(str(dotted), listed, n=1, cutoff=0.9)  # a typo, not a sibling
            shown = (
                f"allowed: {', '.join(listed)}" if listed else "this environment allows no operator classes"
            )
            hint = f"did you mean '{close[0]}'? {shown}" if close else shown
            message = (
                f"operator '{dotted}' is not allowed in environment '{self.environment.name}': "
                f"the platform team lists the classes pipelines may use in {self.environment.file} "
                "(allowed_operators)"
            )
            self.add(where, message, hint, value=True)
            return self.problems
        try:
            cls = allowed_class(self.environment, dotted)
        except Exception as exc:  # listed but not installed here, or not a class
            message = f"operator '{dotted}' cannot be imported: {type(exc).__name__}: {str(exc)[:200]}"
            self.add(
                where, message, f"is its provider installed? it is listed in {self.environment.file}", True
            )
            return self.problems
        from airflow.sdk import BaseOperator

        if not issubclass(cls, BaseOperator):
            self.add(where, f"'{dotted}' is not an Airflow operator (no BaseOperator subclass)", value=True)
            return self.problems
        self.arguments(cls, signature_of(cls))
        return self.problems

    def arguments(self, cls: type, signature: Signature) -> None:
        arguments = self.task.get("arguments") or {}
        where = (*self.base, "arguments")
        name_of = cls.__name__
        for name, value in arguments.items():
            path = (*where, name)
            if name in OWNED_ARGUMENTS:
                self.add(path, f"'{name}' is not an operator argument here: it is {OWNED_ARGUMENTS[name]}")
            elif name in DAG_FACTORY_ARGUMENTS:
                message = f"'{name}' cannot be set from YAML: it would name code to import or run"
                self.add(
                    path, message, "arguments are plain data; callables come from include/ (kind: python)"
                )
            elif name in signature.base:
                self.add(path, f"'{name}' is {_BASE_ONLY}", "arguments are the operator's own")
            elif name not in signature.accepted:
                from sagemaker_pipelines.format.schema_check import did_you_mean  # a problem's hint only

                known = sorted(signature.accepted)
                hint = did_you_mean(name, known) or f"{name_of} takes: {', '.join(known) or 'no arguments'}"
                self.add(path, f"{name_of} has no argument '{name}'", hint)
            elif name not in signature.template_fields:
                for templated in _templates(value, path):
                    fields = ", ".join(signature.template_fields) or "none"
                    message = f"{name_of} does not render '{name}' at run time: no run-time value here"
                    self.add(templated, message, f"its template_fields: {fields}", value=True)
        missing = [n for n in signature.required if n not in arguments and n != "aws_conn_id"]
        if missing:
            self.add(where if arguments else self.base, f"{name_of} needs: {', '.join(missing)}")
        self.connections(name_of, signature, arguments)

    def connections(self, name_of: str, signature: Signature, arguments: dict[str, Any]) -> None:
        """Every connection the task would use is one the environment allows: those its arguments name
        (a literal id: a template could pick any at run time) and its class's defaults it leaves unset
        (``aws_conn_id`` excepted: the compiler sets the pipeline's)."""
        allowed = allowed_connections(self.environment)
        shown = ", ".join(allowed) or "none"
        where = f"{self.environment.file} (allowed_connections)"
        for name, value in arguments.items():
            if not is_connection_argument(name) or name not in signature.accepted:
                continue
            path = (*self.base, "arguments", name)
            if not isinstance(value, str) or "{{" in value or "{%" in value:
                message = f"'{name}' must name a connection literally: a run-time value could pick any"
                self.add(path, message, f"allowed: {shown}", value=True)
            elif value not in allowed:
                message = (
                    f"connection '{value}' is not allowed in environment '{self.environment.name}': "
                    f"the platform team lists the connections pipelines may use in {where}"
                )
                self.add(path, message, f"allowed: {shown}", value=True)
        for name, default in signature.connection_defaults:
            if name in arguments or name == "aws_conn_id" or default in allowed:
                continue
            message = (
                f"{name_of} would use its default connection '{default}' ({name}), which environment "
                f"'{self.environment.name}' does not allow ({where})"
            )
            self.add(self.base, message, f"set {name} to one of: {shown}")


def check_operator_tasks(
    doc: Document, file: str, data: dict[str, Any], environment: Environment
) -> list[Problem]:
    """Problems of every ``kind: operator`` task of a schema-valid pipeline in ``environment``."""
    tasks = data.get("tasks") if isinstance(data.get("tasks"), dict) else {}
    problems: list[Problem] = []
    for task_id, task in tasks.items():
        if isinstance(task, dict) and task.get("kind") == KIND:
            problems += _TaskCheck(doc, file, environment, task_id, task).run()
    return problems


def check_buildable(operator: str, kwargs: dict[str, Any], environment: Environment) -> None:
    """Before the DAG builder hands a compiled ``operator`` task to dag-factory: the class and every
    connection it names are still on the environment's lists (compiled data is cached; the lists may have
    changed since), and no argument is one dag-factory would turn into code."""
    ensure_allowed(environment, operator)
    allowed = allowed_connections(environment)
    for name, value in kwargs.items():
        if is_connection_argument(name) and value not in allowed:
            raise OperatorNotAllowed(
                f"{operator}: connection {value!r} ({name}) is not in the allowed_connections of environment "
                f"'{environment.name}' ({environment.file}; allowed: {', '.join(allowed) or 'none'})"
            )
    refused = sorted(set(kwargs) & (DAG_FACTORY_ARGUMENTS | set(OWNED_ARGUMENTS)) - _COMPILED_TASK_ARGUMENTS)
    if refused:
        raise OperatorNotAllowed(f"{operator}: arguments {refused} are not plain operator arguments")
