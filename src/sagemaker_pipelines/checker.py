"""One pipeline file, top to bottom: read it, load its YAML (an older format version migrated in memory),
then the stages of ``stages.py`` in order: resolve references, check the shape, check the meaning, build,
check the requests.

Every stage reports problems as data. A file either compiles (and its requests passed botocore's
check) or yields the full list of what is wrong with it - never a traceback: an exception raised while
checking a file (a bug, a broken schema file, an exhausted resource) becomes that file's problem, with
the line of the task being checked when it is known, so no pipeline can take the others down.

The stages are imported where they run: a DAG file whose pipeline is answered from the compile cache
needs :class:`CheckResult` only, and Airflow parses each DAG file in a fresh process, so importing the
checking machinery there would be paid once per file and per task start.
"""

from __future__ import annotations

import logging
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.paths import display_link, display_path, include_dir
from sagemaker_pipelines.problems import Code, PipelineInvalid, Problem, field_path

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.compiled import CompiledPipeline
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
        return Problem(display_path(path), line, col, "", f"cannot read the file: {message}", code=Code.IO)

    if path.is_symlink() and not path.exists():  # named as the link: its target's name is not a file
        target, resolved = os.readlink(path), display_path(path)
        where = f"'{target}'" + ("" if resolved == target else f" ({resolved})")
        message = f"cannot read the file: it is a symbolic link to {where}, which does not exist"
        return Problem(display_link(path), 0, 0, "", message, code=Code.IO)
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
        return Problem(display_path(path), line, col, "", message, hint, code=Code.IO)


def parse(text: str, path: Path, file: str | None = None) -> Document | CheckResult:
    """The YAML document of a pipeline in the current format version (an older file is migrated in
    memory, format/migrations.py, its positions kept), or the result that says why there is none.
    ``file``: ``path`` as problems name it, when the caller has it (resolving a path is not free)."""
    from sagemaker_pipelines.format.versions import CURRENT, declared_version, version_problem
    from sagemaker_pipelines.format.yaml_source import YamlProblem, load_document

    file = display_path(path) if file is None else file
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
        return CheckResult(file, path.stem, [Problem(file, 1, 1, "", message, code=Code.SCHEMA)])
    if declared.version != CURRENT:  # older formats are read as the current one
        from sagemaker_pipelines.format.migrations import migrate_in_memory

        migrate_in_memory(doc, declared.version)
    return doc


def check_text(text: str, path: Path, environment: Environment) -> CheckResult:
    """Check one pipeline's text as if read from ``path``."""
    file = display_path(path)
    doc = parse(text, path, file)
    if isinstance(doc, CheckResult):
        return doc
    return check_document(doc, text, path, environment, file)


def check_document(
    doc: Document, text: str, path: Path, environment: Environment, file: str | None = None
) -> CheckResult:
    """Check a parsed pipeline for one environment (parse once, check for each environment).
    ``file``: ``path`` as problems name it, when the caller has it."""
    file = display_path(path) if file is None else file
    try:
        return _check_document(doc, text, path, environment, file)
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
    return Problem(file, line, col, where, message, hint, code=Code.INTERNAL)


def _check_document(doc: Document, text: str, path: Path, environment: Environment, file: str) -> CheckResult:
    from sagemaker_pipelines import stages

    walk = stages.Walk(doc, text, path, file, environment, dag_id_for(path, doc.data))
    problems = stages.run(walk)
    compiled = walk.compiled if not any(p.is_error for p in problems) else None
    includes = include_references(walk.data)
    if walk.compiled is not None:
        includes = sorted({*includes, *include_references(walk.compiled.as_dict())})
    dag_id_at = doc.keys.get(("dag_id",), (1, 1))
    return CheckResult(walk.file, walk.dag_id, problems, compiled, dag_id_at, includes)


def include_references(data: Any) -> list[str]:
    """Every ``include/...`` path a resolved pipeline or compiled result names (``:function`` dropped),
    and every absolute path under the include folder, as ``include/...``."""
    root = str(include_dir())
    starts = ("include/", root)
    found: set[str] = set()
    stack = [data]
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        if isinstance(value, str):
            if not value.startswith(starts):  # nearly every string: one test
                continue
            if value.startswith("include/"):
                found.add(value.partition(":")[0])
            elif value == root or value.startswith(root + os.sep):
                found.add("include/" + value[len(root) :].lstrip(os.sep))
        elif isinstance(value, dict):
            extend(value.values())
        elif isinstance(value, list):
            extend(value)
    return sorted(found)


def check_file(path: Path, environment: Environment) -> CheckResult:
    text = read_pipeline(path)
    if isinstance(text, Problem):
        return CheckResult(text.file, path.stem, [text])
    return check_text(text, path, environment)
