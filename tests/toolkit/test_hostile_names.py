"""Names a user controls never become code, another folder or another file to read.

A pipeline's file name and DAG id are written into ``dags/<dag_id>.py``, which every Airflow process that
parses the DAG folder runs; an environment name from a Variable or the process environment becomes
``environments/<name>.yaml``. Each is checked as a whole name (``names.py``) before anything is written
or read. The real dag-processor's side is in ``tests/dag_processing/test_hostile_names.py``.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

from sagemaker_pipelines.airflow.dag_file import render
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.problems import PipelineInvalid

from .conftest import SMALL, write

# A file name that, written into a Python string without escaping, runs an expression when parsed.
HOSTILE_FILE = 'x",pipeline=open("pwned","w").write("ran")and"x.yaml'


def _problems(out: str) -> list[dict]:
    return json.loads(out)["problems"]


def test_a_hostile_file_name_is_refused_by_validate_and_gets_no_dag_file(pipelines_dir, run_cli):
    write(pipelines_dir, HOSTILE_FILE, SMALL)
    write(pipelines_dir, "fine.yaml", SMALL)
    status, out, _ = run_cli("validate", "--format", "json", "--env", "local", pipelines_dir / HOSTILE_FILE)
    assert status == 1
    (problem,) = _problems(out)
    assert problem["code"] == "name" and problem["field"] == "dag_id"
    assert "cannot name a DAG file" in problem["message"] and "letters, digits" in problem["hint"]

    status, out, err = run_cli("sync")
    assert status == 1 and "no DAG file is written" in out + err
    dags = pipelines_dir.parent / "dags"
    assert sorted(p.name for p in dags.iterdir()) == ["fine.py"]  # the good pipeline is not held back


@pytest.mark.parametrize("dag_id", ["../../escaped", "ends_in_newline\n", ".hidden", "-dash"])
def test_a_dag_id_that_is_not_a_plain_name_is_refused_where_it_is_written(pipelines_dir, run_cli, dag_id):
    path = write(pipelines_dir, "p.yaml", f"dag_id: {json.dumps(dag_id)}\n" + SMALL)
    status, out, _ = run_cli("validate", "--format", "json", "--env", "local", path)
    assert status == 1
    (problem,) = _problems(out)
    assert (problem["line"], problem["field"]) == (1, "dag_id")

    status, _, _ = run_cli("sync")
    assert status == 1
    root = pipelines_dir.parent
    assert not list(root.parent.rglob("escaped*")) and not (root / "dags").exists()


def test_every_string_in_a_dag_file_is_a_literal_and_hostile_paths_are_never_rendered(pipelines_dir):
    path = write(pipelines_dir, "fine.yaml", SMALL)
    source = render(path, pipelines_dir.parent / "dags", {"training"})
    call = ast.parse(source).body[-1].value
    assert [k.arg for k in call.keywords] == ["project", "pipeline"]
    assert all(isinstance(k.value, ast.Constant) for k in call.keywords)
    assert call.keywords[1].value.value == str(path.resolve())  # outside the project: its whole path
    with pytest.raises(ValueError, match="safe names"):
        render(write(pipelines_dir, HOSTILE_FILE, SMALL), pipelines_dir.parent / "dags", {"training"})


@pytest.mark.parametrize("name", ["../include/x", "/etc/passwd", "local\n", "..", ""])
def test_an_environment_name_is_never_a_path(name, tmp_path, monkeypatch):
    # A valid environment file where the path would lead: it must not be read.
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "local.yaml").write_text("not: [valid")
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(tmp_path / "environments"))
    with pytest.raises(PipelineInvalid) as raised:
        load_environment(name)
    (problem,) = raised.value.problems
    assert "is not an environment name" in problem.message and "known: local" in problem.message


def test_make_run_writes_its_dag_file_through_syncs_checks(pipelines_dir):
    """make run writes the pipeline's DAG file itself before Airflow loads it: by sync's plan, so a DAG
    id that is a path is refused there too, and nothing lands outside the DAG folder."""
    from sagemaker_pipelines.local.run import write_dag_file

    write(pipelines_dir, "p.yaml", 'dag_id: "../../escaped"\n' + SMALL)
    with pytest.raises(SystemExit, match=re.escape("no DAG file is written: the DAG id '../../escaped'")):
        write_dag_file("p")
    assert not list(pipelines_dir.parent.parent.rglob("escaped*"))
    write(pipelines_dir, "fine.yaml", SMALL)
    assert write_dag_file("fine") == pipelines_dir.parent / "dags" / "fine.py"
    assert (
        "import airflow.providers.amazon.aws.operators.sagemaker"
        in (pipelines_dir.parent / "dags" / "fine.py").read_text()
    )
