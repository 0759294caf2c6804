"""The command line itself: --help everywhere, ``run`` forwarding, pre-commit hook and CI files."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
import yaml

from sagemaker_pipelines.local import run as local_run

from .conftest import CHECKOUT_ROOT, PIPELINES, run_module, subprocess_env

COMMANDS = ["validate", "render", "graph", "compile", "new", "docs", "run"]


def test_top_level_help_lists_every_command():
    result = run_module("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "run"])
def test_subcommand_help(command, run_cli):
    status, out, _ = run_cli(command, "--help")
    assert status == 0
    assert out.startswith(f"usage: sagemaker-pipelines {command}")


def test_run_forwards_to_the_local_runner(monkeypatch, run_cli):
    calls = []
    monkeypatch.setattr(local_run, "main", lambda argv: calls.append(argv) or 7)
    assert run_cli("run", "iris_deploy", "--env", "local")[0] == 7
    assert calls == [["iris_deploy", "--env", "local"]]


def test_pre_commit_hook_validates_changed_pipelines():
    config = yaml.safe_load((CHECKOUT_ROOT / ".pre-commit-config.yaml").read_text())
    (hook,) = config["repos"][0]["hooks"]
    assert config["repos"][0]["repo"] == "local"
    assert hook["language"] == "system" and hook["pass_filenames"] is True
    assert re.search(hook["files"], "pipelines/iris_training.yaml")
    assert re.search(hook["files"], "pipelines/team/x.yml")
    assert not re.search(hook["files"], "environments/aws.yaml")
    # What pre-commit runs: the entry with the changed files appended, from the repository root.
    if not (CHECKOUT_ROOT / ".venv/bin/python").exists():
        pytest.skip("no .venv")
    command = [*shlex.split(hook["entry"]), "pipelines/iris_training.yaml"]
    result = subprocess.run(command, cwd=CHECKOUT_ROOT, capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 pipeline valid" in result.stdout


def test_ci_workflow_validates_with_annotations_and_tests():
    workflow = yaml.safe_load((CHECKOUT_ROOT / ".github/workflows/ci.yml").read_text())
    steps = next(iter(workflow["jobs"].values()))["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(python["with"]["python-version"]) == "3.11"
    assert (
        runs.index("make install")
        < runs.index("make validate FORMAT=github BUILD=1")
        < runs.index("make test")
    )
    assert PIPELINES.is_dir()
