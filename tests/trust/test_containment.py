"""Any exception while checking a pipeline is that pipeline's problem, with file and line; broken schema or
environment files are problems naming them; long graphs are checked without recursion; odd files in
pipelines/ are reported, not skipped."""

from __future__ import annotations

import dataclasses
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from sagemaker_pipelines import project
from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.compile import kinds
from sagemaker_pipelines.format import schema_check
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR
from sagemaker_pipelines.problems import PipelineInvalid
from tests.pipeline_texts import PREPARE_AND_TRAIN

from .conftest import as_other_user, needs_other_user, probe

PIPELINE = CHECKOUT_ROOT / "pipelines" / "t.yaml"
EVERY_KIND = CHECKOUT_ROOT / "tests" / "core" / "good_inputs" / "every_kind.yaml"
TWO_TASKS = PREPARE_AND_TRAIN


@pytest.fixture
def local():
    return load_environment("local")


def test_an_exception_in_a_compiler_is_the_files_problem_at_the_task(monkeypatch, local):
    def boom(ctx):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(kinds.KINDS, "training", dataclasses.replace(kinds.KINDS["training"], compile=boom))
    (problem,) = check_text(TWO_TASKS, PIPELINE, local).problems
    assert (problem.line, problem.column, problem.field, problem.code) == (6, 3, "tasks.train", "internal")
    assert "ZeroDivisionError: a bug" in problem.message and "please report it" in problem.hint


def test_a_recursion_error_in_a_check_is_contained(monkeypatch, local):
    from sagemaker_pipelines.checks import semantics

    def deep(*args, **kwargs):
        return deep(*args, **kwargs)

    monkeypatch.setattr(semantics, "check_semantics", deep)  # the checker imports it where it runs
    (problem,) = check_text(TWO_TASKS, PIPELINE, local).problems
    assert problem.code == "internal" and "RecursionError" in problem.message and problem.line == 1


@pytest.fixture
def broken_schemas(tmp_path, monkeypatch):
    """A copy of the schemas folder the test may break; the schema caches are emptied before and after."""
    folder = tmp_path / "schemas"
    shutil.copytree(schema_check.schemas_dir(), folder)
    monkeypatch.setattr(schema_check, "schemas_dir", lambda: folder)
    caches = (schema_check.load_schema, schema_check.validator, schema_check._task_validators)
    for cached in caches:
        cached.cache_clear()
    yield folder
    for cached in caches:
        cached.cache_clear()


def test_a_truncated_schema_file_is_a_problem_naming_it(broken_schemas, local):
    schema = broken_schemas / "pipeline.schema.json"
    text = schema.read_text()
    schema.write_text(text[: len(text) // 2])
    (problem,) = check_text(TWO_TASKS, PIPELINE, local).problems
    assert problem.file.endswith("pipeline.schema.json") and problem.code == "schema-file"
    assert problem.line > 1 and "is not valid JSON" in problem.message and "restore it" in problem.hint

    (broken_schemas / "environment.schema.json").write_text('{"type": ')
    schema_check.load_schema.cache_clear()
    schema_check.validator.cache_clear()
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    assert caught.value.problems[0].file.endswith("environment.schema.json")


def _environments(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "environments"
    shutil.copytree(CHECKOUT_ROOT / "environments", folder)
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    return folder


def test_environment_files_that_cannot_be_read_are_problems(tmp_path, monkeypatch):
    folder = _environments(tmp_path, monkeypatch)
    (folder / "local.yaml").write_bytes(b"region: us-east-2\ndescription: caf\xe9\n")
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 17) and "not UTF-8" in problem.message
    (folder / "local.yaml").unlink()
    (folder / "local.yaml").mkdir()
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    assert "is a directory" in caught.value.problems[0].message
    (folder / "local.yaml").rmdir()
    (folder / "local.yaml").symlink_to(folder / "gone.yaml")
    with pytest.raises(PipelineInvalid) as caught:
        load_environment("local")
    assert "a symbolic link to nothing" in caught.value.problems[0].message


@needs_other_user
def test_an_unreadable_environment_file_is_a_problem():
    """Run by another user, for whom the file is unreadable (root reads everything)."""
    shared = Path(tempfile.mkdtemp(prefix="trust-env-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        shutil.copytree(CHECKOUT_ROOT / "environments", shared / "environments")
        (shared / "environments").chmod(0o755)
        (shared / "environments" / "local.yaml").chmod(0o600)
        code = (
            "import sys; sys.path.insert(0, sys.argv[1])\n"
            "from sagemaker_pipelines.format.environment import load_environment\n"
            "from sagemaker_pipelines.problems import PipelineInvalid\n"
            "import os; os.environ['SAGEMAKER_ENVIRONMENTS_DIR'] = sys.argv[2]\n"
            "try:\n    load_environment('local')\nexcept PipelineInvalid as exc:\n    print(exc)\n"
        )
        done = as_other_user(code, str(SOURCE_DIR), str(shared / "environments"))
        assert "cannot read the environment file: Permission denied" in done.stdout, done.stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def chain(n: int, closing: bool = False) -> str:
    """n training tasks, each depending on the next one, written downstream-first."""
    lines = ["start_date: 2024-01-01", "tasks:"]
    for i in range(n):
        lines += [f"  t{i}:", "    kind: training", "    algorithm: knn"]
        lines += ["    inputs: {train: 's3://my-bucket/iris/train.csv'}"]
        after = i + 1 if i + 1 < n else (0 if closing else None)
        if after is not None:
            lines.append(f"    depends_on: [t{after}]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(120)
def test_a_1200_task_chain_written_downstream_first_checks_and_builds(local, tmp_path):
    result = check_text(chain(1200), PIPELINE, local)
    assert result.ok, [p.format() for p in result.problems[:3]]
    assert result.compiled.task("t0").depends_on == ["t1"]
    cycle = check_text(chain(1200, closing=True), PIPELINE, local)
    (problem,) = cycle.problems
    assert problem.message.startswith("dependency cycle: t0 -> t1199 -> t1198")
    assert "(1200 tasks)" in problem.message and len(problem.message) < 200
    # Airflow's own checks accept the DAG (its cycle check is iterative too).
    path = tmp_path / "chain.yaml"
    path.write_text(chain(1200))
    report = probe(path, tmp_path / "cache" / "v", tmp_path, "--validate")
    assert report["dag_id"] == "chain"


def test_a_dangling_symlink_in_pipelines_is_reported(tmp_path, monkeypatch, local):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    shutil.copy(CHECKOUT_ROOT / "pipelines" / "iris_training.yaml", folder)
    (folder / "gone.yaml").symlink_to(tmp_path / "elsewhere" / "gone.yaml")
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(folder))
    monkeypatch.setenv("SAGEMAKER_DAGS_DIR", str(tmp_path / "dags"))  # a scratch folder has no DAG files
    checked = project.check_all(local)
    assert [r.ok for r in checked.results] == [False, True]
    (problem,) = checked.results[0].problems
    assert "it is a symbolic link to" in problem.message and "which does not exist" in problem.message
    assert problem.line == 0  # no line: there is no content (the message says why)

    from sagemaker_pipelines.toolkit.validation import validate

    summary = validate([str(folder)])
    assert [p.message for p in summary.problems] == [problem.message]


def test_a_dangling_symlink_is_named_as_the_link_not_its_target(tmp_path, monkeypatch, local):
    """A link in pipelines/ to a file of the project that is gone (renamed, say): the problem is the
    link's, the file the user has; its target's name appears in the message only."""
    root = tmp_path / "project"
    folder = root / "pipelines"
    folder.mkdir(parents=True)
    (root / "archive").mkdir()
    shutil.copy(CHECKOUT_ROOT / "pipelines" / "iris_training.yaml", folder)
    (folder / "current.yaml").symlink_to(Path("..") / "archive" / "renamed.yaml")
    monkeypatch.setenv("SAGEMAKER_PIPELINES_ROOT", str(root))
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(CHECKOUT_ROOT / "environments"))
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(CHECKOUT_ROOT / "include"))
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(folder))
    monkeypatch.setenv("SAGEMAKER_DAGS_DIR", str(tmp_path / "dags"))
    checked = project.check_all(local)
    (problem,) = checked.results[0].problems
    assert problem.file == "pipelines/current.yaml"
    assert problem.message == (
        "cannot read the file: it is a symbolic link to '../archive/renamed.yaml' (archive/renamed.yaml), "
        "which does not exist"
    )

    from sagemaker_pipelines.toolkit.validation import validate

    summary = validate([str(folder)])
    assert [(p.file, p.message) for p in summary.problems] == [(problem.file, problem.message)]


@pytest.mark.timeout(120)
def test_no_garbled_text_makes_the_checker_raise(local):
    """Characters deleted, duplicated, swapped or replaced at random in the every-kind pipeline (a fixed
    sample): always problems or a pipeline, never an exception - not even a contained one."""
    text = EVERY_KIND.read_text()
    rng = random.Random(11)
    alphabet = "[]{}:-,'\"&*!|>%@`#?\n\t \\0x1:20yes.inf~"
    for _ in range(400):
        chars = list(text)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.3:
                del chars[i]
            elif action < 0.6:
                chars.insert(i, rng.choice(alphabet))
            elif action < 0.8:
                chars[i] = rng.choice(alphabet)
            else:
                chars.insert(i, "".join(chars[i : i + rng.randint(1, 40)]))
        result = check_text("".join(chars), EVERY_KIND, local)
        assert (result.compiled is None) == bool(result.problems)
        assert all(p.code != "internal" and p.line >= 1 for p in result.problems), result.problems
