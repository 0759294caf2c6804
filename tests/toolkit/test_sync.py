"""``sync``: one generated DAG file per pipeline, kept in step; ``validate`` says when it is not."""

from __future__ import annotations

import ast
import subprocess

from sagemaker_pipelines.airflow.dag_file import MARKER, preimported_modules
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.project import pipeline_head

from .conftest import BROKEN, SMALL, run_module, write


def test_committed_dag_files_are_in_step_with_the_pipelines():
    result = run_module("sync", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.stem for p in (CHECKOUT_ROOT / "dags").glob("*.py")) == sorted(
        p.stem for p in (CHECKOUT_ROOT / "pipelines").glob("*.yaml")
    )


def test_a_dag_file_names_its_pipeline_and_only_airflow_modules(tmp_path):
    source = (CHECKOUT_ROOT / "dags" / "iris_training.py").read_text()
    tree = ast.parse(source)
    imported = [a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names]
    _, kinds = pipeline_head(CHECKOUT_ROOT / "pipelines" / "iris_training.yaml")
    assert kinds == {"python", "training", "model", "transform"}
    assert imported == list(preimported_modules(kinds)) and all(m.startswith("airflow.") for m in imported)
    assert "airflow.providers.amazon.aws.operators.sagemaker" in imported
    # Only this pipeline's operators: a task runner imports every line in its fresh process.
    assert "airflow.providers.amazon.aws.operators.sagemaker_unified_studio" not in imported
    assert "airflow.providers.amazon.aws.operators.sagemaker_unified_studio" in preimported_modules()
    assert "airflow.providers.http.operators.http" in imported  # what dag-factory imports, read from it
    assert source.rstrip().endswith(
        'dag = load_pipeline(__file__, project="..", pipeline="pipelines/iris_training.yaml")'
    )
    ruff = [str(CHECKOUT_ROOT / ".venv/bin/ruff"), "check", str(CHECKOUT_ROOT / "dags" / "iris_training.py")]
    assert subprocess.run(ruff, capture_output=True, cwd=CHECKOUT_ROOT).returncode == 0


def test_sync_writes_refreshes_and_removes(pipelines_dir, run_cli):
    dags = pipelines_dir.parent / "dags"
    write(pipelines_dir, "first.yaml", SMALL)
    write(pipelines_dir, "second.yaml", "dag_id: renamed\n" + SMALL)
    write(pipelines_dir, "broken.yaml", BROKEN)  # a broken pipeline still gets its DAG file: its errors show

    status, out, _ = run_cli("sync")
    assert status == 0
    assert sorted(p.name for p in dags.glob("*.py")) == ["broken.py", "first.py", "renamed.py"]
    assert "wrote" in out and str(dags / "renamed.py") in out

    status, out, _ = run_cli("sync")
    assert (status, out.strip()) == (0, "3 DAG files were already up to date")

    (pipelines_dir / "first.yaml").unlink()
    (dags / "mine.py").write_text("# a hand-written DAG file: never touched\n")
    (dags / "renamed.py").write_text((dags / "renamed.py").read_text() + "# edited by hand\n")
    status, out, err = run_cli("sync", "--check")
    assert status == 1
    assert (
        "first.py: this generated DAG file's pipeline no longer exists (run `make sync` to remove it)" in out
    )
    assert "second.yaml: its DAG file" in out and "renamed.py is stale (run `make sync` to write it)" in out
    assert "2 DAG files out of step" in err

    status, out, _ = run_cli("sync")
    assert status == 0
    assert sorted(p.name for p in dags.glob("*.py")) == ["broken.py", "mine.py", "renamed.py"]
    assert MARKER not in (dags / "mine.py").read_text()


def test_a_dag_id_used_twice_gets_one_file_and_an_error(pipelines_dir, run_cli):
    write(pipelines_dir, "a.yaml", "dag_id: shared\n" + SMALL)
    write(pipelines_dir, "b.yaml", "dag_id: shared\n" + SMALL)
    status, out, _ = run_cli("sync")
    assert status == 1
    assert [p.name for p in (pipelines_dir.parent / "dags").glob("*.py")] == ["shared.py"]
    assert "b.yaml:1:1: dag_id: dag_id 'shared' is already used by" in out


def test_validate_reports_missing_and_orphaned_dag_files(pipelines_dir, run_cli):
    write(pipelines_dir, "good.yaml", SMALL)
    dags = pipelines_dir.parent / "dags"
    dags.mkdir()
    status, out, _ = run_cli("validate")
    assert status == 1
    assert (
        f"{pipelines_dir / 'good.yaml'}: its DAG file {dags / 'good.py'} is missing (run `make sync`" in out
    )

    assert run_cli("sync")[0] == 0
    assert run_cli("validate")[0] == 0
    (pipelines_dir / "good.yaml").rename(pipelines_dir / "better.yaml")
    status, out, _ = run_cli("validate")
    assert status == 1
    assert "good.py: this generated DAG file's pipeline no longer exists" in out
    assert "better.yaml: its DAG file" in out
