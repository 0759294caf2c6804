"""The stages of checking one parsed pipeline, in order; each returns problems as data.

``resolve`` turns ``${...}`` references into values, ``shape`` checks the result against the schema,
``meaning`` checks what a schema cannot, ``build`` compiles every task to its operator's arguments, and
``requests`` checks each SageMaker request against botocore's model and the environment's guardrails. The
walk stops after the first stage that found an error (a later stage relies on what an earlier one
guarantees), except that ``resolve``'s errors still let ``shape`` report: all problems of a file at once.

The stages import their machinery where they run (see ``checker.py``): a DAG file answered from the
compile cache never loads it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.problems import Code, Problem, field_path

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.compiled import CompiledPipeline
    from sagemaker_pipelines.compile.kinds.context import Pipeline
    from sagemaker_pipelines.compile.task_outputs import TaskOutputs
    from sagemaker_pipelines.format.environment import Environment
    from sagemaker_pipelines.format.yaml_source import Document


@dataclass
class Walk:
    """One pipeline as the stages see it: the document, and what each stage has made of it so far."""

    doc: Document
    text: str
    path: Path
    file: str
    environment: Environment
    dag_id: str
    data: dict[str, Any] = field(default_factory=dict)  # the document with its references resolved
    outputs: TaskOutputs | None = None  # what ${tasks.<id>.<output>} resolved to, and where
    bad_paths: set[tuple] = field(default_factory=set)  # values whose references did not resolve
    runtime: set[tuple] = field(default_factory=set)  # values known only at run time
    bucket: str = ""
    pipeline: Pipeline | None = None
    compiled: CompiledPipeline | None = None

    def located(
        self, paths: list[tuple], message: str, hint: str = "", code: str = Code.REFERENCE
    ) -> list[Problem]:
        return [
            Problem(self.file, *self.doc.value_position(path), field_path(path), message, hint, code=code)
            for path in paths
        ]


def resolve(walk: Walk, _earlier: list[Problem]) -> list[Problem]:
    """References in three passes (environment values, which may define the bucket and prefixes; then S3
    locations and run parameters; then other tasks' outputs), and secrets before and after."""
    from sagemaker_pipelines.compile.fan_out import item_paths
    from sagemaker_pipelines.compile.task_outputs import TaskOutputs
    from sagemaker_pipelines.format import references as refs
    from sagemaker_pipelines.format.secrets import scan, scan_resolved

    doc, file, environment = walk.doc, walk.file, walk.environment
    scopes = {"env": refs.env_scope(environment), "dag_id": refs.dag_id_scope(walk.dag_id)}
    first = refs.Resolver(doc, file, scopes, report_malformed=True)
    data = first.resolve(doc.data)
    s3 = data.get("s3") if isinstance(data.get("s3"), dict) else {}
    walk.bucket = s3.get("bucket") or environment.bucket
    prefixes = s3.get("prefixes") if isinstance(s3.get("prefixes"), dict) else {}
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    scopes = {"s3": refs.s3_scope(walk.bucket, prefixes), "params": refs.params_scope(params)}
    second = refs.Resolver(doc, file, scopes)
    data = second.resolve(data)
    tasks = data.get("tasks") if isinstance(data.get("tasks"), dict) else {}
    walk.outputs = TaskOutputs(tasks, walk.bucket, walk.dag_id)
    third = refs.Resolver(doc, file, {"tasks": walk.outputs})
    walk.data = third.resolve(data)
    walk.bad_paths = first.bad_paths | second.bad_paths | third.bad_paths | doc.problem_paths
    walk.runtime = walk.outputs.runtime_paths | item_paths(walk.data)  # ${item}: per for_each element

    problems = doc.problems + first.problems + second.problems + third.problems
    problems += scan(doc, file, allow_templates=environment.allow_templates)
    reported = {p.field for p in problems}
    resolved = scan_resolved(doc, walk.data, file, allow_templates=environment.allow_templates)
    return problems + [p for p in resolved if p.field not in reported]


def shape(walk: Walk, earlier: list[Problem]) -> list[Problem]:
    """The schema, and names safe to use as DAG ids and file names. When anything is wrong so far, the
    checks of ``meaning`` that need no valid shapes report too, on fields not reported already."""
    from sagemaker_pipelines.checks.semantics import check_semantics
    from sagemaker_pipelines.compile import hyperparameters
    from sagemaker_pipelines.format.schema_check import check_against_schema
    from sagemaker_pipelines.names import name_problems

    doc = walk.doc
    resolved = doc.__class__(walk.data, doc.values, doc.keys)
    problems = check_against_schema(resolved, walk.file, skip=walk.bad_paths, runtime=walk.runtime)
    reported = {p.field for p in problems}  # a dag_id the schema refused is not refused twice
    dag_id_at = doc.keys.get(("dag_id",), (1, 1))
    named = name_problems(walk.path, walk.dag_id, dag_id_at, written="dag_id" in doc.data)
    problems += [p for p in named if p.field not in reported]
    if any(p.is_error for p in [*earlier, *problems]):
        reported = {p.field for p in [*earlier, *problems]}
        rejected = [p.field for p in problems]  # the shapes the schema refused (not an unresolved value)
        lenient = check_semantics(doc, walk.file, walk.data, rejected)
        lenient += hyperparameters.problems(doc, walk.file, walk.data)
        problems += [p for p in lenient if p.field not in reported]
    return problems


def meaning(walk: Walk, _earlier: list[Problem]) -> list[Problem]:
    """What a schema cannot say: dependencies and references between tasks, built-in algorithms'
    hyperparameters, notifications, allowed operator classes, what ``config:`` may set, images."""
    from sagemaker_pipelines.checks.guardrails import check_config
    from sagemaker_pipelines.checks.images import image_problems
    from sagemaker_pipelines.checks.notify import check_notify
    from sagemaker_pipelines.checks.semantics import check_semantics
    from sagemaker_pipelines.compile import hyperparameters
    from sagemaker_pipelines.compile.allowed_operators import check_operator_tasks
    from sagemaker_pipelines.compile.images import unavailable_images

    doc, file, data, environment = walk.doc, walk.file, walk.data, walk.environment
    problems = check_semantics(doc, file, data)
    problems += hyperparameters.problems(doc, file, data)
    problems += check_notify(doc, file, data, environment)
    problems += check_operator_tasks(doc, file, data, environment)  # imports only listed classes
    problems += check_config(doc, file, data, environment)  # what config: may not set (guardrails)
    region = data.get("region", environment.region)
    for where, message, hint in unavailable_images(data["tasks"], region):  # what this region lacks
        problems.append(
            Problem(file, *doc.position(where), field_path(where), message, hint, code=Code.IMAGE)
        )
    for where, message, hint, severity in image_problems(data["tasks"], region, environment.local):
        problems.append(
            Problem(file, *doc.value_position(where), field_path(where), message, hint, "image", severity)
        )
    return problems


def build(walk: Walk, _earlier: list[Problem]) -> list[Problem]:
    """Every task compiled to its operator's arguments; task outputs only where the operator renders them
    at run time; ``config:`` removals that remove something."""
    from sagemaker_pipelines.checks.config_removals import removal_problems
    from sagemaker_pipelines.compile.assets import AssetError
    from sagemaker_pipelines.compile.compiler import TaskCompileError, compile_pipeline
    from sagemaker_pipelines.compile.kinds.context import Pipeline

    data, environment = walk.data, walk.environment
    walk.pipeline = Pipeline(
        dag_id=walk.dag_id,
        file=walk.file,
        data=data,
        environment=environment,
        bucket=walk.bucket,
        region=data.get("region", environment.region),
        role_arn=data.get("role_arn", environment.role_arn),
        aws_conn_id=data.get("aws_conn_id", environment.aws_conn_id),
    )
    traced = _traced_outputs(walk)
    try:
        walk.compiled = compile_pipeline(
            walk.pipeline, walk.text, {t: task for t, (task, _) in traced.items()}
        )
    except TaskCompileError as exc:  # only a run-time value where the compiler needs a real one does this
        if isinstance(exc.__cause__, AssetError):  # publish: (compile/assets.py)
            where = [("tasks", exc.task_id, "publish")]
            return walk.located(where, str(exc.__cause__), code=Code.PUBLISH)
        if exc.__cause__ is not None and "for_each" in walk.pipeline.tasks[exc.task_id]:  # compile/fan_out.py
            where = [("tasks", exc.task_id, getattr(exc.__cause__, "field", "for_each"))]
            return walk.located(where, str(exc.__cause__).strip("'\""), code=Code.FOR_EACH)
        runtime = walk.outputs.runtime_paths if walk.outputs else set()
        where = sorted(p for p in runtime if p[:2] == ("tasks", exc.task_id)) or [("tasks", exc.task_id)]
        return walk.located(
            where, "a task output is only known at run time; this field is needed when the DAG is built"
        )
    problems = _unrendered(walk, traced)
    problems += removal_problems(walk.doc, walk.file, walk.pipeline)  # config: entries set to null
    return problems


def requests(walk: Walk, _earlier: list[Problem]) -> list[Problem]:
    """Each SageMaker request as AWS would judge its shape (botocore's model, its problems kept as data),
    then as the environment's guardrails judge it."""
    from sagemaker_pipelines.checks.guardrails import check_guardrails
    from sagemaker_pipelines.compile.request_check import check_compiled
    from sagemaker_pipelines.format.schema_check import did_you_mean

    assert walk.compiled is not None
    problems = []
    for task_id, found in check_compiled(walk.compiled).items():
        config = walk.compiled.task(task_id).kwargs.get("config")
        for problem in found:
            where = _request_location(walk.doc, task_id, problem.path, config)
            hint = did_you_mean(problem.path[-1], problem.valid_names) if problem.valid_names else ""
            problems.append(
                Problem(
                    walk.file,
                    *walk.doc.position(where),
                    field_path(where),
                    str(problem),
                    hint,
                    code=Code.REQUEST,
                )
            )
    return problems + check_guardrails(walk.doc, walk.file, walk.data, walk.compiled, walk.environment)


Stage = Callable[[Walk, list[Problem]], list[Problem]]
# (stage, whether the walk stops after it when it found an error)
STAGES: tuple[tuple[Stage, bool], ...] = (
    (resolve, False),
    (shape, True),
    (meaning, True),
    (build, True),
    (requests, True),
)


def run(walk: Walk) -> list[Problem]:
    """Every stage in order, until one that stops the walk found an error; the problems of all that ran."""
    problems: list[Problem] = []
    for stage, stops in STAGES:
        problems += stage(walk, problems)
        if stops and any(p.is_error for p in problems):
            break
    return sorted(set(problems))


def _traced_outputs(walk: Walk) -> dict[str, tuple[dict[str, Any], dict[str, tuple[tuple, str]]]]:
    """The tasks that use task outputs, as the build compiles them: each output template replaced by a
    marker of its own, so that where it lands can be told (marker -> (field, template))."""
    from sagemaker_pipelines.format.templates import replace_expressions

    assert walk.pipeline is not None and walk.outputs is not None
    by_task: dict[str, list[tuple]] = {}
    for path in sorted(walk.outputs.runtime_paths):
        if path[2:3] != ("for_each",):  # a for_each list is read by its <task>__items step (fan_out.py)
            by_task.setdefault(path[1], []).append(path)
    traced = {}
    for task_id, paths in by_task.items():
        if walk.pipeline.tasks[task_id].get("kind") == "operator":
            continue  # its class's template_fields are checked by compile.allowed_operators
        task = copy.deepcopy(walk.pipeline.tasks[task_id])
        markers: dict[str, tuple[tuple, str]] = {}
        for path in paths:
            parent = task
            for key in path[2:-1]:
                parent = parent[key]

            def marker(block: str, path: tuple = path, markers: dict = markers) -> str:
                if "xcom_pull" not in block:  # one {{ ... }} reading XCom
                    return block
                name = "{{ task_output_" + str(len(markers)) + " }}"
                markers[name] = (path, block)
                return name

            parent[path[-1]] = replace_expressions(parent[path[-1]], marker)
        traced[task_id] = (task, markers)
    return traced


def _unrendered(
    walk: Walk, traced: dict[str, tuple[dict[str, Any], dict[str, tuple[tuple, str]]]]
) -> list[Problem]:
    """Task outputs in fields that do not reach an argument the operator renders at run time: a field
    whose marker is missing from the operator's templated arguments is consumed when the DAG is built,
    or lands in an argument Airflow sends as it is. Then each marker is put back to its template, so the
    one compile is the DAG's."""
    from sagemaker_pipelines.compile.fan_out import mapped_kwargs
    from sagemaker_pipelines.compile.kinds import KINDS
    from sagemaker_pipelines.format.references import unrendered_outputs

    assert walk.compiled is not None
    problems = []
    for compiled in walk.compiled.tasks:
        if compiled.task_id not in traced:
            continue
        markers = traced[compiled.task_id][1]
        kind = KINDS[compiled.kind]
        missing = set(markers)
        for kwargs in mapped_kwargs(compiled):  # every element of a for_each task renders its outputs
            missing &= set(unrendered_outputs(kwargs, kind.templated, list(markers)))
        for path in sorted(markers[m][0] for m in missing):
            operator = compiled.operator.rpartition(".")[2]
            message = f"a task output cannot be used here: {operator} does not render this field at run time"
            problems += walk.located([path], message, f"it renders {', '.join(kind.templated)}")
        templates = {name: block for name, (_, block) in markers.items()}
        compiled.kwargs = _untraced(compiled.kwargs, templates)
        compiled.mapped = _untraced(compiled.mapped, templates)
    return problems


def _untraced(value: Any, templates: dict[str, str]) -> Any:
    """``value`` with every marker put back to the task output template it stands for."""
    if isinstance(value, str):
        for name, block in templates.items():
            value = value.replace(name, block)
        return value
    if isinstance(value, dict):
        return {key: _untraced(item, templates) for key, item in value.items()}
    if isinstance(value, list):
        return [_untraced(item, templates) for item in value]
    return value


def _request_location(doc: Document, task_id: str, member: tuple, request: object = None) -> tuple:
    """The ``config:`` entry a request problem comes from, when the task wrote one; else the task."""
    config = ("tasks", task_id, "config")
    member = _written_indexes(doc, config, member, request)
    for n in range(len(member), 0, -1):
        where = (*config, *member[:n])
        if where in doc.keys or where in doc.values:
            return where
    return ("tasks", task_id)


def _written_indexes(doc: Document, config: tuple, member: tuple, request: object) -> tuple:
    """``member`` with each list index of the request turned into the index of the same named item in
    the ``config:`` the task wrote (``config:`` merges lists of named items by name, see deep_merge)."""
    from sagemaker_pipelines.compile.kinds.context import NAME_KEYS

    out: list = []
    for part in member:
        if isinstance(part, int) and isinstance(request, list) and part < len(request):
            item = request[part]
            request = item
            name_key = next((k for k in NAME_KEYS if isinstance(item, dict) and k in item), None)
            written = doc.data
            for key in (*config, *out):
                written = written.get(key) if isinstance(written, dict) else None
            if name_key and isinstance(written, list):
                same = [
                    i
                    for i, w in enumerate(written)
                    if isinstance(w, dict) and w.get(name_key) == item[name_key]
                ]
                if not same:  # a generated item the task did not write: the problem is not in its config
                    return tuple(out)
                part = same[0]
        else:
            request = request.get(part) if isinstance(request, dict) else None
        out.append(part)
    return tuple(out)
