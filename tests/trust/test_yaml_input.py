"""Nothing in a pipeline's text can crash the loader or change a job silently: depth and size limits met
before anything large is built, YAML 1.1 number forms refused with what to write instead, hints for the
usual syntax traps."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sagemaker_pipelines.checker import check_file, check_text
from sagemaker_pipelines.format.yaml_source import load_document
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR

PIPELINE = CHECKOUT_ROOT / "pipelines" / "t.yaml"
# XGBoost: an algorithm whose hyperparameter names and values validate does not check (compile/
# hyperparameters.py), so a probe's value is judged by the YAML reader alone.
TRAIN = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: xgboost
    inputs: {{train: "s3://my-bucket/iris/train.csv"}}
{extra}"""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SOURCE_DIR), "PATH": "/usr/bin:/bin"},
    )


DEEP = "'start_date: 2024-01-01\\nmeta: ' + '[' * 50000 + ']' * 50000 + '\\n'"


def test_a_flow_sequence_50000_deep_crashed_pyyaml_and_is_a_located_problem_here():
    """The control shows what the issue measured (PyYAML's C composer dies of a stack overflow); the
    loader, in the same kind of fresh process, answers with the problem."""
    control = _python(f"import yaml; yaml.CSafeLoader({DEEP}).get_single_node()")
    assert control.returncode < 0  # killed by a signal (SIGSEGV), not an exception
    ours = _python(
        "from pathlib import Path\n"
        "from sagemaker_pipelines.checker import check_text\n"
        "from sagemaker_pipelines.format.environment import load_environment\n"
        f"r = check_text({DEEP}, Path('deep.yaml'), load_environment('local'))\n"
        "print(r.problems[0].format())\n"
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.startswith("deep.yaml:2:71: meta[0][0][0][0][0]...: nesting deeper than 64 levels")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 500_000,
        "a: " + "{" * 500_000,
        "- " * 500_000 + "x\n",
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1400)),
        "a: " + "[x, " * 200_000,
    ],
    ids=["brackets", "braces", "dashes", "indentation", "wide"],
)
def test_pathological_nesting_is_one_problem_quickly(text):
    result = check_text(text, PIPELINE, _local())
    assert len(result.problems) == 1 and result.problems[0].code == "yaml"
    assert result.problems[0].line >= 1


def _local():
    from sagemaker_pipelines.format.environment import load_environment

    return load_environment("local")


@pytest.mark.timeout(10)
def test_a_5_mb_description_is_refused_at_the_line_where_the_limit_is_crossed(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(TRAIN.format(extra="description: " + "lorem ipsum " * 450_000 + "\n"))
    (problem,) = check_file(path, _local()).problems
    assert problem.line == 7 and problem.column > 1
    assert "a pipeline file may have at most 1,048,576" in problem.message
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"a: 1\n" * 4_000_000)  # 20 MB: not even read
    (problem,) = check_file(huge, _local()).problems
    assert "it has 20,000,000 bytes" in problem.message


@pytest.mark.timeout(10)
def test_a_1_mb_key_says_why():
    (problem,) = check_text("k" * 1_000_000 + ": 1\n", PIPELINE, _local()).problems
    assert problem.message == "a key of 1,000,000 characters; YAML allows at most 1024 in a key"
    (problem,) = check_text("tasks:\n  " + "t" * 3000 + ": {}\n", PIPELINE, _local()).problems
    assert "this key has 3,000 characters and YAML allows at most 1024" in problem.hint


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("schedule: */5 * * * *", "quote it, like '*/5 * * * *'"),
        ("schedule: @daily", "'@' cannot start a value: quote it, like '@daily'"),
        ("description: `make run`", "'`' cannot start a value"),
    ],
)
def test_values_that_start_with_a_yaml_indicator_get_a_hint_to_quote_them(line, hint):
    (problem,) = check_text(TRAIN.format(extra=line + "\n"), PIPELINE, _local()).problems
    assert (problem.line, problem.code) == (7, "yaml") and hint in problem.hint


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [
        ("1:20", "'1:20' is the base-60 number 80 in YAML 1.1", "write 80, or quote it ('1:20')"),
        ("010", "'010' is the octal number 8 in YAML 1.1 but 10", "write 10 (or 8), or quote it ('010')"),
        ("-010", "'-010' is the octal number -8", "write -10 (or -8)"),
        ("0x10", "'0x10' is the hexadecimal number 16", "write 16"),
        ("0b11", "'0b11' is the binary number 3", "write 3"),
        ("1_000", "'1_000' is the number 1000 in YAML 1.1 but text", "write 1000"),
        ("yes", "'yes' is true in YAML 1.1", "write true, or quote it ('yes')"),
        ("No", "'No' is false in YAML 1.1", "write false"),
        ("on", "'on' is true", "write true"),
        ("OFF", "'OFF' is false", "write false"),
        (".inf", "'.inf' is infinite", "write a finite number"),
        ("-.Inf", "'-.Inf' is infinite", "quote it"),
        (".nan", "'.nan' is not a number", "quote it ('.nan')"),
        ("1e999", "'1e999' is infinite", "write a finite number"),
        ("1:20.5", "'1:20.5' is the base-60 number 80.5", "write 80.5"),
    ],
)
def test_yaml_1_1_number_forms_are_refused_with_what_to_write(written, message, hint):
    result = check_text(TRAIN.format(extra=f"    hyperparameters: {{k: {written}}}\n"), PIPELINE, _local())
    (problem,) = result.problems
    assert (problem.line, problem.column, problem.field) == (7, 26, "tasks.train.hyperparameters.k")
    assert message in problem.message and hint in problem.hint and problem.code == "yaml"
    quoted = check_text(TRAIN.format(extra=f"    hyperparameters: {{k: '{written}'}}\n"), PIPELINE, _local())
    assert quoted.ok and quoted.compiled.tasks[0].kwargs["config"]["HyperParameters"]["k"] == written


@pytest.mark.parametrize(
    ("field", "written", "silently_was"),
    [("instance_count", "1:20", 80), ("instance_count", "010", 8), ("volume_size", "0x10", 16)],
)
def test_no_job_gets_the_yaml_1_1_number(field, written, silently_was):
    result = check_text(TRAIN.format(extra=f"    {field}: {written}\n"), PIPELINE, _local())
    assert result.compiled is None and [p.field for p in result.problems] == [f"tasks.train.{field}"]
    assert (
        f"write {silently_was}" in result.problems[0].hint or str(silently_was) in result.problems[0].message
    )


def test_plain_y_and_n_hyperparameters_are_refused_and_quoted_ones_pass():
    result = check_text(TRAIN.format(extra="    hyperparameters: {a: y, b: N}\n"), PIPELINE, _local())
    assert [(p.field, p.code) for p in result.problems] == [
        ("tasks.train.hyperparameters.a", "yaml"),
        ("tasks.train.hyperparameters.b", "yaml"),
    ]
    assert "quote it ('y')" in result.problems[0].hint
    assert check_text(TRAIN.format(extra="    hyperparameters: {a: 'y', b: \"N\"}\n"), PIPELINE, _local()).ok


def test_numbers_people_mean_are_still_numbers():
    doc = load_document(
        textwrap.dedent(
            """\
            a: 10
            b: 0
            c: -3
            d: 0.5
            e: 1e-4
            f: 010.5
            g: true
            h: null
            i: '010'
            """
        ),
        "p.yaml",
    )
    assert doc.problems == []
    assert doc.data == {
        "a": 10,
        "b": 0,
        "c": -3,
        "d": 0.5,
        "e": 0.0001,
        "f": 10.5,
        "g": True,
        "h": None,
        "i": "010",
    }


def test_a_nul_byte_is_a_binary_file_at_its_line():
    (problem,) = check_text("start_date: 2024-01-01\ntasks:\x00\n", PIPELINE, _local()).problems
    assert (problem.line, problem.column) == (2, 7) and "binary file" in problem.message
