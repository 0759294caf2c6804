"""Every kind's defaults are its operator's, or its spec says why.

A data scientist who ports a DAG expects a kind to behave as the provider's operator it compiles to. For
every kind (sensors and aliases included) a minimal task - the fragment's example, cut to the fields the
kind cannot do without - is compiled in each shipped environment and in one that sets every optional
environment field. Each argument the task passes that the user did not write (a written one is one whose
value changes when a field of the task is left out or changed) is compared with the default of the
operator's own ``__init__`` chain (``BaseOperator``'s included). A difference not declared in the kind's
``differs`` or in ``ENVIRONMENT_ARGUMENTS`` fails, naming kind, argument, ours and theirs; a declaration
that no longer differs fails too, so the reference never prints a stale reason.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sagemaker_pipelines.compile.compiled import CompiledTask
from sagemaker_pipelines.compile.compiler import compile_task
from sagemaker_pipelines.compile.kinds import ALIASES, KINDS
from sagemaker_pipelines.compile.kinds.context import Pipeline
from sagemaker_pipelines.compile.kinds.operator_defaults import (
    operator_class,
    operator_defaults,
    same_default,
)
from sagemaker_pipelines.compile.kinds.spec import ENVIRONMENT_ARGUMENTS
from sagemaker_pipelines.format.environment import Environment, load_environment
from sagemaker_pipelines.toolkit.generators import task_schema

SUBJECT = "subject"
EVERY_KIND = [*KINDS, *ALIASES]


@dataclasses.dataclass(frozen=True)
class Difference:
    kind: str  # as written (an alias included)
    compiled_kind: str  # the kind after aliases: whose spec declares the difference
    argument: str
    ours: Any
    theirs: Any
    environment: str

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.argument}: ours {self.ours!r}, the operator's {self.theirs!r} "
            f"(environment {self.environment}); make ours the operator's or say why in the spec's differs"
        )


def environments() -> dict[str, Environment]:
    """The shipped environments, and one that sets every optional field compile reads."""
    aws = load_environment("aws")
    everything = dataclasses.replace(
        aws,
        name="everything",
        deferrable=True,
        retry_delay=60,
        print_log=False,
        operator_defaults={
            "max_ingestion_time": 21600,
            "max_attempts": 120,
            "action_if_job_exists": "fail",
            "check_if_job_exists": False,
            "soft_fail": True,
        },
    )
    return {"local": load_environment("local"), "aws": aws, "everything": everything}


def example(kind: str) -> dict[str, Any]:
    return copy.deepcopy(task_schema.fragment(kind)["examples"][0])


def minimal_task(kind: str) -> dict[str, Any]:
    """The example without the fields the kind can do without: what is left is what it needs."""
    task = example(kind)
    keep = {"kind", *task_schema.fragment(kind).get("required", [])}
    for group in KINDS[kind].one_of if kind in KINDS else ():
        given = [f for f in group if f in task]
        assert given, f"{kind}: the fragment's example gives none of {group}, of which the kind needs one"
        keep.add(given[0])
    return {name: value for name, value in task.items() if name in keep}


def with_producers(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The task, and the tasks it names (each its kind's example), which compile reads."""
    tasks = {SUBJECT: task}
    pending = [task]
    while pending:
        current = pending.pop()
        spec = KINDS.get(current["kind"])
        for field, producers in (spec.references if spec else {}).items():
            named = current.get(field)
            if isinstance(named, str) and named not in tasks:
                tasks[named] = example(producers[0])
                pending.append(tasks[named])
    return tasks


def compiled(environment: Environment, task: dict[str, Any], others: dict[str, dict]) -> CompiledTask:
    tasks = {**others, SUBJECT: task}
    pipeline = Pipeline(
        dag_id="defaults",
        file="pipelines/defaults.yaml",
        data={"start_date": "2024-01-01", "tasks": tasks},
        environment=environment,
        bucket=environment.bucket,
        region=environment.region,
        role_arn=environment.role_arn,
        aws_conn_id=environment.aws_conn_id,
    )
    return compile_task(pipeline, SUBJECT, task)


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path


def _changed(value: Any, path: tuple) -> Any:
    """``value`` with the leaf at ``path`` changed (a string lengthened, a number raised)."""
    if not path:
        return value + "x" if isinstance(value, str) else value + 1
    changed = copy.copy(value)
    changed[path[0]] = _changed(value[path[0]], path[1:])
    return changed


def variants(task: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The task with one written field left out, or one of its values changed."""
    for field, value in task.items():
        if field == "kind":
            continue
        yield {k: v for k, v in task.items() if k != field}
        for path in _leaves(value):
            yield {**task, field: _changed(value, path)}


def written_arguments(environment: Environment, task: dict, others: dict, kwargs: dict) -> set[str]:
    """The arguments whose value follows a field the user wrote."""
    written: set[str] = set()
    for variant in variants(task):
        try:
            other = compiled(environment, variant, others).kwargs
        except Exception:  # a field the kind cannot compile without: its arguments are required ones
            continue
        written |= {name for name, value in kwargs.items() if name not in other or other[name] != value}
    return written


def differences_of(kind: str, environment: Environment) -> list[Difference]:
    task = minimal_task(kind)
    tasks = with_producers(task)
    others = {k: v for k, v in tasks.items() if k != SUBJECT}
    result = compiled(environment, task, others)
    written = written_arguments(environment, task, others, result.kwargs)
    defaults = operator_defaults(operator_class(result.operator))
    # what every task of the DAG gets from its default_args (compiler._default_args), then its own
    passed = {"owner": "airflow", **_environment_default_args(environment), **result.kwargs}
    found = []
    for argument, ours in passed.items():
        if argument in written or argument not in defaults:
            continue  # the user's own value, or an argument the operator requires
        theirs = defaults[argument]
        if not same_default(ours, theirs):
            found.append(Difference(kind, result.kind, argument, ours, theirs, environment.name))
    return found


def _environment_default_args(environment: Environment) -> dict[str, Any]:
    return {} if environment.retry_delay is None else {"retry_delay": environment.retry_delay}


@pytest.fixture(scope="module")
def differences() -> dict[str, list[Difference]]:
    found: dict[str, list[Difference]] = {kind: [] for kind in EVERY_KIND}
    for environment in environments().values():
        for kind in EVERY_KIND:
            found[kind] += differences_of(kind, environment)
    return found


def _undeclared(difference: Difference) -> bool:
    declared = KINDS[difference.compiled_kind].differs
    return difference.argument not in declared and difference.argument not in ENVIRONMENT_ARGUMENTS


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_every_default_is_the_operators_or_says_why(kind, differences):
    undeclared = [str(d) for d in differences[kind] if _undeclared(d)]
    assert not undeclared, "\n".join(undeclared)


@pytest.mark.parametrize("kind", sorted(k for k, spec in KINDS.items() if spec.differs))
def test_every_declared_difference_is_one(kind, differences):
    """A reason for a difference that is gone would tell the reference's readers something false."""
    seen = {d.argument for k in EVERY_KIND for d in differences[k] if d.compiled_kind == kind}
    defaults = operator_defaults(operator_class(KINDS[kind].operator))
    for argument, reason in KINDS[kind].differs.items():
        assert argument in defaults, f"{kind}: {argument} is no argument of its operator with a default"
        assert argument in seen, f"{kind}: {argument} is declared to differ, but it is the operator's"
        assert reason.endswith("."), f"{kind}: {argument}: say why, as a sentence"


def test_every_environment_argument_is_one_compile_sets(differences):
    seen = {d.argument for found in differences.values() for d in found}
    assert set(ENVIRONMENT_ARGUMENTS) <= seen, sorted(set(ENVIRONMENT_ARGUMENTS) - seen)


def test_the_operators_defaults_are_read_through_the_whole_init_chain():
    """The provider's own arguments, a sensor base's and BaseOperator's (which arrive through **kwargs)."""
    training = operator_defaults(operator_class(KINDS["training"].operator))
    assert training["check_interval"] == 30
    assert training["wait_for_completion"] is True
    assert training["retry_delay"] == timedelta(seconds=300)
    sensor = operator_defaults(operator_class(KINDS["s3_key_sensor"].operator))
    assert sensor["poke_interval"] == 60
    assert "bucket_key" not in sensor  # required: nothing to compare


def test_an_undeclared_difference_is_found_and_named(monkeypatch):
    """The check itself: a start_pipeline that waited by default, as it once did, is reported."""
    spec = KINDS["start_pipeline"]

    def waiting(ctx):
        return {**spec.compile(ctx), "wait_for_completion": ctx.get("wait_for_completion", True)}

    monkeypatch.setitem(KINDS, "start_pipeline", dataclasses.replace(spec, compile=waiting))
    found = [d for d in differences_of("start_pipeline", environments()["aws"]) if _undeclared(d)]
    assert [(d.argument, d.ours, d.theirs) for d in found] == [("wait_for_completion", True, False)]
    assert str(found[0]).startswith("start_pipeline: wait_for_completion: ours True, the operator's False")


def test_the_reference_prints_each_kinds_differences_and_why():
    from sagemaker_pipelines.toolkit.docs_gen import render

    text = render()
    environment = text.split("### Arguments the environment sets", 1)[1].split("\n### ", 1)[0]
    for argument in ENVIRONMENT_ARGUMENTS:
        assert f"| `{argument}` |" in environment, argument
    for kind, spec in KINDS.items():
        section = text.split(f"### Kind: `{kind}`", 1)[1].split("\n### ", 1)[0]
        assert "Defaults: " in section, kind
        for argument, reason in spec.differs.items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{argument}` | "))
            assert reason.split(":")[0] in row, (kind, argument)
