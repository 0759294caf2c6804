"""The README and the pages it sends people to first (docs/toolkit.md, docs/writing-pipelines.md) show
what the commands print: each quoted block is checked against a real run (``make`` itself where a page
quotes ``make``, with ``install`` taken as done), line for line; where a block leaves lines out it says so
with a ``...`` line."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.toolkit import graph

from .conftest import PIPELINES

PAGES = ("README.md", "docs/toolkit.md", "docs/writing-pipelines.md")
README = "\n".join((CHECKOUT_ROOT / page).read_text(encoding="utf-8") for page in PAGES)
BLOCKS = [
    (m["lang"], m["body"].splitlines())
    for m in re.finditer(r"```(?P<lang>\w*)\n(?P<body>.*?)```", README, re.S)
]
# What make runs before a target: already done by the time tests run (and never redone by a test).
MAKE = [
    "make",
    "--no-print-directory",
    "-o",
    "install",
    "-o",
    ".venv/.installed",
    "-o",
    "tools/editor/node_modules/.installed",
]


def block(first: str, lang: str = "") -> list[str]:
    """The fenced block of the README or its first pages whose first line starts with ``first``."""
    found = [
        body for kind, body in BLOCKS if body and body[0].startswith(first) and (not lang or kind == lang)
    ]
    assert len(found) == 1, f"README has {len(found)} blocks starting with {first!r}"
    return found[0]


def make(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        [*MAKE, *arguments],
        cwd=CHECKOUT_ROOT,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def assert_excerpt(excerpt: list[str], output: list[str]) -> None:
    """Each run of lines between ``...`` lines appears in ``output`` as it is, and in this order."""
    runs, current = [], []
    for line in excerpt:
        if line.strip() == "...":
            runs.append(current)
            current = []
        else:
            current.append(line)
    runs.append(current)
    position = 0
    for run in (r for r in runs if r):
        starts = [i for i in range(position, len(output) - len(run) + 1) if output[i : i + len(run)] == run]
        assert starts, f"not in the output (after line {position}):\n" + "\n".join(run)
        position = starts[0] + len(run)


def test_validate_shows_every_problem_of_the_shipped_broken_example_and_make_exits_2():
    quoted = block("$ make validate")
    files = quoted[0].split("FILES=", 1)[1]
    assert (CHECKOUT_ROOT / files).is_file()
    done = make("validate", f"FILES={files}")
    # make names the recipe's line, which moves whenever the Makefile is edited: compare without it.
    recipe_line = re.compile(r"Makefile:\d+:")
    assert [recipe_line.sub("Makefile:N:", line) for line in done.stdout.splitlines()] == [
        recipe_line.sub("Makefile:N:", line) for line in quoted[1:]
    ]
    assert done.returncode == 2


@pytest.mark.parametrize(
    ("arguments", "status"),
    [(["docs/examples/broken.yaml"], 1), (["pipelines/iris_training.yaml"], 0), (["--no-such-option"], 2)],
)
def test_the_toolkits_own_exit_statuses(arguments, status):
    done = subprocess.run(
        [sys.executable, "-m", "sagemaker_pipelines.toolkit", "validate", *arguments],
        cwd=CHECKOUT_ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(["src", "."])},
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == status


def test_render_block():
    done = make("render", "PIPELINE=iris_training")
    assert done.returncode == 0, done.stdout
    assert_excerpt(block("iris_training  (pipelines/iris_training.yaml"), done.stdout.splitlines())


def test_mermaid_block_is_the_committed_graph_and_what_graph_writes():
    committed = (CHECKOUT_ROOT / "docs" / "graphs" / "iris_training.mmd").read_text()
    assert "\n".join(block("flowchart LR", "mermaid")) + "\n" == committed
    compiled = check_file(PIPELINES / "iris_training.yaml", load_environment("local")).compiled
    assert graph.mermaid(compiled) == committed


def test_compile_blocks(tmp_path: Path, run_cli):
    status, out, err = run_cli("compile", "--env", "aws", "--out", tmp_path)
    assert status == 0, err
    shown = [line.replace(f"wrote {tmp_path}/", "wrote build/compiled_dags/") for line in out.splitlines()]
    assert shown == block("$ make compile ENV=aws")[1:]
    assert_excerpt(block("with DAG(", "python"), (tmp_path / "iris_training.py").read_text().splitlines())
    refused = make("compile")  # no ENV: the default environment is local
    assert refused.returncode == 2 and "'local' is a local environment" in refused.stdout


def test_new_block(tmp_path: Path):
    project = tmp_path / "project"
    for folder in ("pipelines", "environments", "include", "dags"):
        shutil.copytree(CHECKOUT_ROOT / folder, project / folder, symlinks=True)
    (project / "schemas").symlink_to(CHECKOUT_ROOT / "schemas")
    command = block("wrote pipelines/churn.yaml")
    done = make("new", "NAME=churn", "TEMPLATE=training", env={"SAGEMAKER_PIPELINES_ROOT": str(project)})
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-len(command) :] == command
    assert (project / "pipelines" / "churn.yaml").is_file()


def test_the_quoted_pipeline_is_the_shipped_one():
    quoted = block("# yaml-language-server:", "yaml")
    shipped = (PIPELINES / "iris_training.yaml").read_text()
    assert quoted[0] == shipped.splitlines()[0]
    assert yaml.safe_load("\n".join(quoted)) == yaml.safe_load(shipped)


def test_the_pre_commit_hook_validates_changed_pipelines():
    """The hook the README tells people to install, run as pre-commit runs it: entry + changed files."""
    (hook,) = yaml.safe_load((CHECKOUT_ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert re.search(hook["files"], "pipelines/iris_training.yaml") and hook["pass_filenames"]
    entry = shlex.split(hook["entry"])

    def run(path: str) -> int:
        return subprocess.run([*entry, path], cwd=CHECKOUT_ROOT, capture_output=True, timeout=300).returncode

    assert run("pipelines/iris_training.yaml") == 0
    assert run("docs/examples/broken.yaml") == 1
    assert "pre-commit install" in README
