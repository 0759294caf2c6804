"""The bad-input corpus: every file in bad_inputs/ has one kind of mistake (one file has three), and
check_file must report exactly the problems that expected.yaml lists - located, named and explained -
without ever raising. (Files read as the loader reads them: a binary file is a case too.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sagemaker_pipelines import project
from sagemaker_pipelines.checker import check_file, check_text
from sagemaker_pipelines.problems import Problem

from .conftest import BAD_INPUTS

EXPECTED: dict[str, list[dict]] = {
    name: spec if isinstance(spec, list) else [spec]
    for name, spec in yaml.safe_load((BAD_INPUTS / "expected.yaml").read_text()).items()
}
FILES = sorted(p.name for p in BAD_INPUTS.glob("*.yaml") if p.name != "expected.yaml")


def _matches(problem: Problem, expected: dict) -> bool:
    return (
        (problem.line, problem.column) == (expected["line"], expected["column"])
        and problem.field == expected["field"]
        and expected["message"] in problem.message
        and expected.get("hint", "") in problem.hint
        and problem.code == expected.get("code", problem.code)
    )


def _shown(problems: list[Problem]) -> str:
    return "\n".join(f"{p.format()}  [code={p.code}]" for p in problems) or "(no problems)"


def test_corpus_is_large_enough_and_fully_described():
    assert len(FILES) >= 40
    assert set(FILES) == set(EXPECTED), "every bad input needs an expectation, and every expectation a file"


@pytest.fixture(scope="module")
def allowed_classes_imported(local_env):
    """``operator_`` cases import the environment's allowed classes: a provider's first import takes
    seconds once per process, which is not the hang the guard below is for."""
    from sagemaker_pipelines.compile.allowed_operators import allowed_class

    for dotted in local_env.allowed_operators:
        allowed_class(local_env, dotted)


# The guard fails a hang or a blow-up (alias bombs, regexes), not a slow machine: a case takes
# milliseconds, the alias bomb (cut off by a node budget, not a clock) about 0.5 s on an idle machine and
# several seconds on a loaded one, and a blow-up would take minutes.
@pytest.mark.timeout(60, func_only=True)  # the fixtures (a provider's first import) are not timed
@pytest.mark.parametrize("name", FILES)
def test_bad_input_reports_exactly_the_expected_problems(name, local_env, allowed_classes_imported):
    path = BAD_INPUTS / name
    result = check_file(path, local_env)

    assert result.compiled is None
    expected = EXPECTED[name]
    assert len(result.problems) == len(expected), _shown(result.problems)
    for spec in expected:
        assert any(_matches(p, spec) for p in result.problems), (
            f"expected {spec}, got:\n{_shown(result.problems)}"
        )
    for problem in result.problems:
        assert problem.file == f"tests/core/bad_inputs/{name}"
        assert problem.line >= 1 and problem.column >= 1


@pytest.mark.timeout(60, func_only=True)  # the fixtures (a provider's first import) are not timed
@pytest.mark.parametrize("name", FILES)
def test_bad_input_never_crashes_in_the_aws_environment(name, aws_env):
    path = BAD_INPUTS / name
    result = check_file(path, aws_env)
    assert result.problems and result.compiled is None


def test_all_problems_of_a_file_are_reported_at_once(local_env):
    """Three independent mistakes (a reference, a secret, a typo) give three problems in one pass."""
    path = BAD_INPUTS / "multi_three_mistakes.yaml"
    result = check_text(path.read_text(), path, local_env)
    assert sorted(p.code for p in result.problems) == ["reference", "schema", "secret"]
    assert [p.line for p in result.problems] == [7, 8, 12]


def test_three_schema_mistakes_in_three_places_are_all_reported(check):
    result = check(
        """\
        start_date: 2024-01-01
        catchup: sometimes
        tasks:
          train:
            kind: training
            algorithm: knn
            instance_count: 0
            inputs:
              train: s3://my-bucket/iris/train.csv
          score:
            kind: transform
            model_name: some-model
            input: s3://my-bucket/iris/test.csv
            output: s3://my-bucket/out/
            split_type: Lines
        """
    )
    assert [(p.line, p.field) for p in result.problems] == [
        (2, "catchup"),
        (7, "tasks.train.instance_count"),
        (15, "tasks.score.split_type"),
    ], _shown(result.problems)
    assert "did you mean 'Line'?" in result.problems[2].hint


def test_duplicate_dag_id_across_two_files(tmp_path, monkeypatch, local_env):
    for source in sorted((BAD_INPUTS / "duplicate_dag_id").glob("*.yaml")):
        shutil.copy(source, tmp_path / source.name)
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(tmp_path))

    checked = project.check_all(local_env)

    assert [r.ok for r in checked.results] == [True, True]
    assert len(checked.problems) == 1
    problem = checked.problems[0]
    assert Path(problem.file).name == "second.yaml"
    assert (problem.line, problem.column, problem.field) == (3, 1, "dag_id")  # at the dag_id key
    assert "dag_id 'iris_shared' is already used by" in problem.message
    assert "first.yaml" in problem.message
    assert "unique" in problem.hint
    # Only the first owner of the id is built; the duplicate is an import error, not a second DAG.
    assert [Path(r.file).name for r in checked.good()] == ["first.yaml"]
