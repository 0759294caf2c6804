"""The environment on every command: ``ENV=`` on ``make validate/render/graph/compile`` reaches ``--env``;
``compile`` says which environment its files are for and refuses a local one unless asked."""

from __future__ import annotations

import os
import subprocess

import pytest

from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .conftest import PIPELINES


def make_dry_run(*arguments: str, env: dict[str, str] | None = None) -> str:
    """The commands ``make`` would run (``-n``: nothing runs, not even ``install``)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(CHECKOUT_ROOT), *arguments],
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return " ".join(done.stdout.splitlines()[-1].split())  # the last command, spaces normalised


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("validate", "validate --format human --env aws"),
        ("render", "render iris_training --env aws"),
        ("graph", "graph iris_training --env aws"),
        ("compile", "compile --env aws"),
    ],
)
def test_env_reaches_every_command(target: str, command: str):
    assert make_dry_run(target, "ENV=aws").endswith(f"sagemaker_pipelines.toolkit {command}")
    assert make_dry_run(target, env={"ENV": "aws"}).endswith(f"sagemaker_pipelines.toolkit {command}")


def test_without_env_validate_checks_every_environment_and_a_shells_env_path_is_ignored():
    assert make_dry_run("validate").endswith("validate --format human")
    # sh reads its start-up file from $ENV: a path is no environment name
    assert make_dry_run("validate", env={"ENV": "/root/.shrc"}).endswith("validate --format human")


def test_compile_refuses_a_local_environment_unless_asked(tmp_path, run_cli):
    out = tmp_path / "out"
    status, _, err = run_cli("compile", "--out", out, "--env", "local")
    assert status == 2
    assert (
        "'local' is a local environment" in err and "make compile ENV=aws" in err and "--allow-local" in err
    )
    assert not out.exists()
    assert make_dry_run("compile", "ENV=local", "ALLOW_LOCAL=1").endswith("compile --env local --allow-local")


def test_compile_says_which_environment_its_files_are_for(tmp_path, run_cli):
    aws = load_environment("aws")
    out = tmp_path / "out"
    status, stdout, err = run_cli(
        "compile", str(PIPELINES / "iris_training.yaml"), "--out", out, "--env", "aws"
    )
    assert status == 0, err
    assert stdout.splitlines()[0] == f"environment aws: region {aws.region}, bucket {aws.bucket}"
    source = (out / "iris_training.py").read_text()
    assert aws.bucket in source and aws.role_arn in source and f'"{aws.aws_conn_id}"' in source
    assert "sagemaker-local" not in source and "aws_local" not in source
