"""checker: one file top to bottom - never a traceback, always the file's DAG id and every problem."""

from __future__ import annotations

import copy
import random

import pytest
import yaml

from sagemaker_pipelines.checker import check_document, check_file, check_text, parse
from sagemaker_pipelines.problems import PipelineInvalid, Problem, field_path

from .conftest import CORE_DIR, GOOD_PIPELINE, PIPELINES

EVERY_KIND = CORE_DIR / "good_inputs" / "every_kind.yaml"


def test_a_good_pipeline_compiles_with_its_file_name_as_dag_id(check):
    result = check(GOOD_PIPELINE, name="my_pipeline")
    assert result.ok and result.problems == []
    assert result.dag_id == "my_pipeline" == result.compiled.dag_id
    assert result.file == "pipelines/my_pipeline.yaml"


def test_dag_id_can_be_set_and_survives_a_broken_file(check):
    assert check("dag_id: custom\n" + GOOD_PIPELINE).dag_id == "custom"
    broken = check("dag_id: custom\n" + GOOD_PIPELINE + "oops: 1\n")
    assert not broken.ok and broken.compiled is None
    assert broken.dag_id == "custom"  # so duplicate ids are still found across broken files
    assert check("tasks: [\n", name="syntax").dag_id == "syntax"


def test_one_parse_checked_for_each_environment(local_env, aws_env):
    path = PIPELINES / "batch_inference.yaml"
    text = path.read_text()
    doc = parse(text, path)
    local = check_document(doc, text, path, local_env)
    aws = check_document(doc, text, path, aws_env)
    assert local.compiled.task("save_results").kind == "s3_to_sql"
    assert aws.compiled.task("save_results").kind == "s3_to_redshift"
    assert local.compiled.environment == "local" and aws.compiled.environment == "aws"


def test_unreadable_files_are_problems_not_exceptions(tmp_path, local_env):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"start_date: \xff\xfe\n")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    for path in (binary, folder, tmp_path / "missing.yaml"):
        result = check_file(path, local_env)
        assert [p.code for p in result.problems] == ["io"]
        assert result.problems[0].message.startswith("cannot read the file")
        assert result.dag_id == path.stem


def test_files_outside_the_project_keep_their_path(tmp_path, local_env):
    path = tmp_path / "outside.yaml"
    path.write_text("tasks: 3\n")
    result = check_file(path, local_env)
    assert {p.file for p in result.problems} == {str(path)}


def test_problem_formatting_and_ordering():
    first = Problem("a.yaml", 3, 5, "tasks.t.kind", "found 'x'", "did you mean 'y'?", code="schema")
    whole = Problem("a.yaml", message="cannot read", code="io")
    assert first.format() == "a.yaml:3:5: tasks.t.kind: found 'x' (did you mean 'y'?)"
    assert whole.format() == "a.yaml: cannot read"
    assert first.as_dict()["code"] == "schema"
    error = PipelineInvalid([first, whole])
    assert error.problems == [whole, first]
    assert str(error) == "a.yaml: cannot read\na.yaml:3:5: tasks.t.kind: found 'x' (did you mean 'y'?)"
    assert field_path(("tasks", "t", "inputs", 0, "s3_uri")) == "tasks.t.inputs[0].s3_uri"
    assert field_path(()) == ""


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


REPLACEMENTS = [
    None,
    [],
    {},
    0,
    -1,
    2.5,
    True,
    "x",
    "${env.nope}",
    "${s3.bucket}",
    "{{ oops }}",
    ["a"],
    {"a": 1},
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("environment", "count"), [("local", 100), ("aws", 40)])
def test_no_mutation_of_a_good_pipeline_makes_the_checker_raise(environment, count, request):
    """Every value of the every-kind pipeline replaced or deleted (a fixed random sample): the checker
    answers with problems or a compiled pipeline, and never raises."""
    env = request.getfixturevalue(f"{environment}_env")
    data = yaml.safe_load(EVERY_KIND.read_text())
    paths = list(_paths(data))[1:]
    rng = random.Random(20240101)
    outcomes = {"problems": 0, "compiled": 0}
    for _ in range(count):
        path = rng.choice(paths)
        mutated = copy.deepcopy(data)
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.15:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(REPLACEMENTS))
        text = yaml.safe_dump(mutated, sort_keys=False)
        result = check_text(text, EVERY_KIND, env)  # must not raise
        assert (result.compiled is None) == bool(result.problems)
        for problem in result.problems:
            assert problem.line >= 1 and problem.message
            assert problem.code != "internal", problem.format()  # contained, but still a bug
        outcomes["problems" if result.problems else "compiled"] += 1
    assert outcomes["problems"] > count * 0.7
