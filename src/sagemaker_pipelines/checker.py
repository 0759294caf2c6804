"""One pipeline file, top to bottom: read, load YAML, resolve references, validate, check, compile.

Every stage reports problems as data. A file either compiles (and its requests passed botocore's
check) or yields the full list of what is wrong with it - never a traceback: an exception raised while
checking a file (a bug, a broken schema file, an exhausted resource) becomes that file's problem, with
the line of the task being checked when it is known, so no pipeline can take the others down.

The stages are imported where they run: a DAG file whose pipeline is answered from the compile cache
needs :class:`CheckResult` only, and Airflow parses each DAG file in a fresh process, so importing the
checking machinery there would be paid once per file and per task start.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.paths import display_link, display_path, include_dir
from sagemaker_pipelines.problems import PipelineInvalid, Problem, field_path

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.compiler import CompiledPipeline
    from sagemaker_pipelines.compile.kinds.context import Pipeline
    from sagemaker_pipelines.format.environment import Environment
    from sagemaker_pipelines.format.yaml_source import Document

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    """What checking one file found: its DAG id, its problems, and its compiled form when clean."""

    file: str
    dag_id: str
    problems: list[Problem] = field(default_factory=list)
    compiled: CompiledPipeline | None = None
    dag_id_at: tuple[int, int] = (1, 1)  # where a duplicate DAG id is reported: the dag_id key, if written
    # The include/ paths the answer depends on, however the pipeline reached them (literally, through
    # ${env.x}, a YAML escape or an alias): the compile cache re-reads them before reusing the answer.
    includes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors: warnings (a legacy image, say) are shown but the pipeline builds."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def dag_id_for(path: Path, data: object) -> str:
    if isinstance(data, dict) and isinstance(data.get("dag_id"), str):
        return data["dag_id"]
    return path.stem


def read_pipeline(path: Path) -> str | Problem:
    """A pipeline file's text, or the problem that says why it has none (located when it can be)."""

    from sagemaker_pipelines.format.yaml_text import MAX_TEXT_CHARS

    max_bytes = 16 * MAX_TEXT_CHARS  # larger files are not even read: the problem names no line

    def unreadable(message: str, line: int = 0, col: int = 0) -> Problem:
        return Problem(display_path(path), line, col, "", f"cannot read the file: {message}", code="io")

    if path.is_symlink() and not path.exists():  # named as the link: its target's name is not a file
        target, resolved = os.readlink(path), display_path(path)
        where = f"'{target}'" + ("" if resolved == target else f" ({resolved})")
        message = f"cannot read the file: it is a symbolic link to {where}, which does not exist"
        return Problem(display_link(path), 0, 0, "", message, code="io")
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                return unreadable(
                    f"it has {size:,} bytes; a pipeline file may have at most {MAX_TEXT_CHARS:,}"
                )
            data = handle.read(max_bytes + 1)
    except IsADirectoryError:
        return unreadable("it is a directory")
    except OSError as exc:
        return unreadable(exc.strerror or str(exc))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        message = f"cannot read the file: it is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        binary = b"\0" in data[:8192] or exc.start == 0
        hint = "is it a binary file? pipelines are UTF-8 text" if binary else "save it as UTF-8"
        return Problem(display_path(path), line, col, "", message, hint, code="io")


def parse(text: str, path: Path) -> Document | CheckResult:
    """The YAML document of a pipeline in the current format version (an older file is migrated in
    memory, format/versions.py, its positions kept), or the result that says why there is none."""
    from sagemaker_pipelines.format.versions import declared_version, migrate_in_memory, version_problem
    from sagemaker_pipelines.format.yaml_source import YamlProblem, load_document

    file = display_path(path)
    declared = declared_version(text)  # before loading: a newer format may not even load here
    newer = version_problem(declared, file)
    if newer is not None:
        return CheckResult(file, path.stem, [newer])
    try:
        doc = load_document(text, file)
    except YamlProblem as exc:
        return CheckResult(file, path.stem, [exc.problem])
    except Exception as exc:
        return CheckResult(file, path.stem, [_internal_problem(file, exc)])
    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else f"a {type(doc.data).__name__}"
        message = f"found {found}, expected a mapping of pipeline fields"
        return CheckResult(file, path.stem, [Problem(file, 1, 1, "", message, code="schema")])
    migrate_in_memory(doc, declared.version)  # older formats are read as the current one
    return doc


def check_text(text: str, path: Path, environment: Environment) -> CheckResult:
    """Check one pipeline's text as if read from ``path``."""
    doc = parse(text, path)
    if isinstance(doc, CheckResult):
        return doc
    return check_document(doc, text, path, environment)


def check_document(doc: Document, text: str, path: Path, environment: Environment) -> CheckResult:
    """Check a parsed pipeline for one environment (parse once, check for each environment)."""
    file = display_path(path)
    try:
        return _check_document(doc, text, path, environment)
    except PipelineInvalid as exc:  # the schema file itself is unreadable: say which and where
        return CheckResult(file, dag_id_for(path, doc.data), exc.problems)
    except Exception as exc:
        return CheckResult(file, dag_id_for(path, doc.data), [_internal_problem(file, exc, doc)])


def _internal_problem(file: str, exc: Exception, doc: Document | None = None) -> Problem:
    """An exception while checking ``file``: this file's problem, at the task in hand when known."""
    log.error("checking %s failed:\n%s", file, "".join(traceback.format_exception(exc)))
    line, col, where = 1, 1, ""
    tasks = doc.data.get("tasks") if doc is not None and isinstance(doc.data, dict) else None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        task_id = frame.f_locals.get("task_id")
        if isinstance(task_id, str) and isinstance(tasks, dict) and task_id in tasks:
            where = field_path(("tasks", task_id))
            line, col = doc.position(("tasks", task_id))
    message = f"the checker failed on this pipeline: {type(exc).__name__}: {str(exc)[:300]}"
    hint = "a bug in sagemaker-pipelines, not necessarily in this file; please report it with the file"
    return Problem(file, line, col, where, message, hint, code="internal")


def _check_document(doc: Document, text: str, path: Path, environment: Environment) -> CheckResult:
    from sagemaker_pipelines.compile import hyperparameters
    from sagemaker_pipelines.compile.allowed_operators import check_operator_tasks
    from sagemaker_pipelines.compile.assets import AssetError
    from sagemaker_pipelines.compile.compiler import TaskCompileError, compile_pipeline
    from sagemaker_pipelines.compile.config_removals import removal_problems
    from sagemaker_pipelines.compile.fan_out import item_paths
    from sagemaker_pipelines.compile.guardrail_checks import check_config, check_guardrails
    from sagemaker_pipelines.compile.image_checks import image_problems
    from sagemaker_pipelines.compile.images import unavailable_images
    from sagemaker_pipelines.compile.kinds.context import Pipeline
    from sagemaker_pipelines.compile.request_check import check_compiled
    from sagemaker_pipelines.format import references as refs
    from sagemaker_pipelines.format.notify_check import check_notify
    from sagemaker_pipelines.format.schema_check import check_against_schema
    from sagemaker_pipelines.format.secrets import scan, scan_resolved
    from sagemaker_pipelines.format.semantics import check_semantics
    from sagemaker_pipelines.names import name_problems

    file = display_path(path)
    dag_id = dag_id_for(path, doc.data)
    dag_id_at = doc.keys.get(("dag_id",), (1, 1))
    # Pass 1: environment values, which may define the bucket and prefixes themselves.
    scopes = {"env": refs.env_scope(environment), "dag_id": refs.dag_id_scope(dag_id)}
    first = refs.Resolver(doc, file, scopes, report_malformed=True)
    data = first.resolve(doc.data)
    s3 = data.get("s3") if isinstance(data.get("s3"), dict) else {}
    bucket = s3.get("bucket") or environment.bucket
    prefixes = s3.get("prefixes") if isinstance(s3.get("prefixes"), dict) else {}
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    # Pass 2: S3 locations and run parameters.
    scopes = {"s3": refs.s3_scope(bucket, prefixes), "params": refs.params_scope(params)}
    second = refs.Resolver(doc, file, scopes)
    data = second.resolve(data)
    # Pass 3: outputs of other tasks, which read the other tasks' resolved fields.
    tasks = data.get("tasks") if isinstance(data.get("tasks"), dict) else {}
    outputs = refs.TaskOutputs(tasks, bucket, dag_id)
    third = refs.Resolver(doc, file, {"tasks": outputs})
    data = third.resolve(data)
    includes = include_references(data)

    problems = doc.problems + first.problems + second.problems + third.problems
    problems += scan(doc, file, allow_templates=environment.allow_templates)
    reported = {p.field for p in problems}
    resolved = scan_resolved(doc, data, file, allow_templates=environment.allow_templates)
    problems += [p for p in resolved if p.field not in reported]
    bad_paths = first.bad_paths | second.bad_paths | third.bad_paths | doc.problem_paths
    runtime = outputs.runtime_paths | item_paths(data)  # ${item}: known per for_each element (fan_out.py)
    schema_problems = check_against_schema(
        doc.__class__(data, doc.values, doc.keys), file, skip=bad_paths, runtime=runtime
    )
    problems += schema_problems
    reported = {p.field for p in schema_problems}  # a dag_id the schema refused is not refused twice
    named = name_problems(path, dag_id, dag_id_at, written="dag_id" in doc.data)
    problems += [p for p in named if p.field not in reported]
    if problems:
        # Shapes are not guaranteed, but every check that still applies reports: all problems at once.
        reported = {p.field for p in problems}
        semantic = check_semantics(doc, file, data, shapes_valid=False)
        semantic += hyperparameters.problems(doc, file, data)
        problems += [p for p in semantic if p.field not in reported]
        return CheckResult(file, dag_id, sorted(set(problems)), dag_id_at=dag_id_at, includes=includes)
    problems += check_semantics(doc, file, data)
    problems += hyperparameters.problems(doc, file, data)  # built-in algorithms: compile/hyperparameters.py
    problems += check_notify(doc, file, data, environment)
    problems += check_operator_tasks(doc, file, data, environment)  # imports only listed classes
    problems += check_config(doc, file, data, environment)  # what config: may not set (guardrails)
    region = data.get("region", environment.region)
    for where, message, hint in unavailable_images(data["tasks"], region):  # what this region lacks
        problems.append(Problem(file, *doc.position(where), field_path(where), message, hint, code="image"))
    warnings = []  # shown by validate, but the pipeline still builds
    for where, message, hint, severity in image_problems(data["tasks"], region, environment.local):
        found = Problem(file, *doc.value_position(where), field_path(where), message, hint, "image", severity)
        (problems if found.is_error else warnings).append(found)
    if problems:
        return CheckResult(file, dag_id, sorted(set(problems)), dag_id_at=dag_id_at, includes=includes)

    pipeline = Pipeline(
        dag_id=dag_id,
        file=file,
        data=data,
        environment=environment,
        bucket=bucket,
        region=region,
        role_arn=data.get("role_arn", environment.role_arn),
        aws_conn_id=data.get("aws_conn_id", environment.aws_conn_id),
    )
    try:
        compiled = compile_pipeline(pipeline, text)
    except TaskCompileError as exc:  # only a run-time value where the compiler needs a real one does this
        if isinstance(exc.__cause__, AssetError):  # publish: (compile/assets.py)
            where = [("tasks", exc.task_id, "publish")]
            problems = [replace(p, code="publish") for p in _located(doc, file, where, str(exc.__cause__))]
            return CheckResult(file, dag_id, problems, dag_id_at=dag_id_at)
        if exc.__cause__ is not None and "for_each" in pipeline.tasks[exc.task_id]:  # compile/fan_out.py
            where = [("tasks", exc.task_id, getattr(exc.__cause__, "field", "for_each"))]
            message = str(exc.__cause__).strip("'\"")
            problems = [replace(p, code="for_each") for p in _located(doc, file, where, message)]
            return CheckResult(file, dag_id, problems, dag_id_at=dag_id_at)
        where = sorted(p for p in outputs.runtime_paths if p[:2] == ("tasks", exc.task_id)) or [
            ("tasks", exc.task_id)
        ]
        message = "a task output is only known at run time; this field is needed when the DAG is built"
        return CheckResult(file, dag_id, _located(doc, file, where, message), dag_id_at=dag_id_at)
    includes = sorted({*includes, *include_references(compiled.as_dict())})
    problems += _unrendered(doc, file, pipeline, outputs.runtime_paths)
    problems += removal_problems(doc, file, pipeline)  # config: entries set to null
    if problems:
        return CheckResult(file, dag_id, problems, dag_id_at=dag_id_at, includes=includes)
    for task_id, messages in check_compiled(compiled).items():
        for message in messages:
            where = _request_location(doc, task_id, message, compiled.task(task_id).kwargs.get("config"))
            line, col = doc.position(where)
            hint = _request_hint(message)
            problems.append(Problem(file, line, col, field_path(where), message, hint, code="request"))
    problems += check_guardrails(doc, file, data, compiled, environment)  # the environment's limits
    if problems:
        return CheckResult(file, dag_id, problems, dag_id_at=dag_id_at, includes=includes)
    return CheckResult(file, dag_id, sorted(set(warnings)), compiled, dag_id_at, includes)


def include_references(data: Any) -> list[str]:
    """Every ``include/...`` path a resolved pipeline or compiled result names (``:function`` dropped),
    and every absolute path under the include folder, as ``include/...``."""
    root = str(include_dir())
    found: set[str] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if value.startswith("include/"):
                found.add(value.partition(":")[0])
            elif value == root or value.startswith(root + os.sep):
                found.add("include/" + value[len(root) :].lstrip(os.sep))
    return sorted(found)


def _located(doc: Document, file: str, paths: list[tuple], message: str, hint: str = "") -> list[Problem]:
    problems = []
    for path in paths:
        line, col = doc.value_position(path)
        problems.append(Problem(file, line, col, field_path(path), message, hint, code="reference"))
    return problems


def _unrendered(doc: Document, file: str, pipeline: Pipeline, runtime: set) -> list[Problem]:
    """Task outputs in fields that do not reach an argument the operator renders at run time.

    Each task that uses outputs is compiled once more with every output template replaced by a marker
    of its own: a field whose markers are missing from the operator's templated arguments is consumed
    when the DAG is built, or lands in an argument Airflow sends as it is.
    """
    from sagemaker_pipelines.compile.compiler import compile_task
    from sagemaker_pipelines.compile.fan_out import mapped_kwargs
    from sagemaker_pipelines.compile.kinds import KINDS
    from sagemaker_pipelines.format.references import unrendered_outputs
    from sagemaker_pipelines.format.templates import replace_expressions

    problems = []
    by_task: dict[str, list[tuple]] = {}
    for path in sorted(runtime):
        if path[2:3] != ("for_each",):  # a for_each list is read by its <task>__items step (fan_out.py)
            by_task.setdefault(path[1], []).append(path)
    for task_id, paths in by_task.items():
        if pipeline.tasks[task_id].get("kind") == "operator":
            continue  # its class's template_fields are checked by compile.allowed_operators
        task = copy.deepcopy(pipeline.tasks[task_id])
        markers: dict[str, tuple] = {}
        for path in paths:
            parent = task
            for key in path[2:-1]:
                parent = parent[key]

            def marker(block: str, path: tuple = path, markers: dict = markers) -> str:
                if "xcom_pull" not in block:  # one {{ ... }} reading XCom
                    return block
                name = "{{ task_output_" + str(len(markers)) + " }}"
                markers[name] = path
                return name

            parent[path[-1]] = replace_expressions(parent[path[-1]], marker)
        compiled = compile_task(pipeline, task_id, task)
        kind = KINDS[compiled.kind]
        missing = set(markers)
        for kwargs in mapped_kwargs(compiled):  # every element of a for_each task renders its outputs
            missing &= set(unrendered_outputs(kwargs, kind.templated, list(markers)))
        missing = {markers[m] for m in missing}
        for path in sorted(missing):
            operator = compiled.operator.rpartition(".")[2]
            message = f"a task output cannot be used here: {operator} does not render this field at run time"
            problems += _located(doc, file, [path], message, f"it renders {', '.join(kind.templated)}")
    return problems


def _request_location(doc: Document, task_id: str, message: str, request: object = None) -> tuple:
    """The ``config:`` entry a request problem comes from, when the task wrote one; else the task."""
    from sagemaker_pipelines.compile.request_check import api_path

    config = ("tasks", task_id, "config")
    member = _written_indexes(doc, config, api_path(message), request)
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


def _request_hint(message: str) -> str:
    """Did-you-mean for an unknown API member, from the names botocore lists as valid."""
    from sagemaker_pipelines.format.schema_check import did_you_mean

    match = re.search(r'Unknown parameter in \S+: "([^"]+)", must be one of: (.*)$', message)
    return did_you_mean(match[1], match[2].split(", ")) if match else ""


def check_file(path: Path, environment: Environment) -> CheckResult:
    text = read_pipeline(path)
    if isinstance(text, Problem):
        return CheckResult(text.file, path.stem, [text])
    return check_text(text, path, environment)
