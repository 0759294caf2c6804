"""``validate``: every environment, three output formats, exit codes, speed (no Airflow import)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

from sagemaker_pipelines.format.environment import environment_names
from sagemaker_pipelines.problems import Problem
from sagemaker_pipelines.project import discover
from sagemaker_pipelines.toolkit.reporter import Summary, escape_data, format_problem, github_annotation

from .conftest import BROKEN, CHECKOUT_ROOT, ENVIRONMENTS, PIPELINES, SMALL, run_module, subprocess_env, write

ANNOTATION = re.compile(r"^::error file=[^,:]+(,line=\d+,col=\d+)?(,title=[^:,]+)?::.+$")


def test_examples_are_valid_in_every_environment():
    result = run_module("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(discover(PIPELINES))
    assert result.stdout.strip() == f"{count} pipelines valid ({len(environment_names())} environments)"


def test_broken_file_human_format(pipelines_dir):
    write(pipelines_dir, "bad.yaml", BROKEN)
    write(pipelines_dir, "good.yaml", SMALL)
    result = run_module("validate", env=subprocess_env())
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    bad = f"{pipelines_dir / 'bad.yaml'}"
    assert lines[0] == (
        f"{bad}:6:5: tasks.train.instance_typ: unknown field 'instance_typ' in a training task "
        "(did you mean 'instance_type'?)"
    )
    # All problems of the file at once: the schema's, and the semantic one on a well-shaped field.
    assert lines[1] == f"{bad}:11:12: tasks.predict.model: 'train' is a training task, expected a model task"
    assert lines[2].startswith(f"{bad}:12:12: tasks.predict.input: '${{s3.nope}}' names nothing")
    assert lines[-1] == "3 problems in 1 of 2 files"
    assert "\033[" not in result.stdout  # not a terminal: no colour


def test_broken_file_github_format(pipelines_dir):
    bad = write(pipelines_dir, "bad.yaml", BROKEN)
    result = run_module("validate", "--format", "github", bad)
    assert result.returncode == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 3
    assert all(ANNOTATION.match(line) for line in annotations), annotations
    assert annotations[0] == (
        f"::error file={bad},line=6,col=5,title=tasks.train.instance_typ::"
        "unknown field 'instance_typ' in a training task (did you mean 'instance_type'?)"
    )


def test_broken_file_json_format(pipelines_dir):
    write(pipelines_dir, "bad.yaml", BROKEN)
    write(pipelines_dir, "syntax.yaml", "start_date: 2024-01-01\ntasks:\n  a: [\n")
    result = run_module("validate", "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    first = report["problems"][0]
    assert set(first) == {"file", "line", "column", "field", "message", "hint", "code", "severity"}
    assert (first["line"], first["column"], first["field"]) == (6, 5, "tasks.train.instance_typ")
    assert first["hint"] == "did you mean 'instance_type'?"
    assert {p["code"] for p in report["problems"]} >= {"schema", "yaml"}
    assert report["summary"]["valid"] is False
    assert report["summary"]["files"] == 2
    assert report["summary"]["files_with_problems"] == 2
    assert report["summary"]["environments"] == environment_names()


def test_usage_errors_exit_2(run_cli):
    assert run_module("validate", "no/such/file.yaml").returncode == 2
    status, _, err = run_cli("validate", "--env", "nowhere")
    assert status == 2 and "unknown environment 'nowhere'" in err
    status, _, err = run_cli("validate", "--format", "xml")
    assert status == 2 and "invalid choice" in err
    assert run_cli()[0] == 2  # no command


def test_problem_of_some_environments_names_them(tmp_path, monkeypatch, run_cli):
    environments = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, environments)
    local = environments / "local.yaml"
    local.write_text("\n".join(x for x in local.read_text().splitlines() if "existing_model_name" not in x))
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(environments))
    pipeline = tmp_path / "uses_model.yaml"
    pipeline.write_text(
        BROKEN.replace("model: train", "model_name: ${env.existing_model_name}").replace(
            "${s3.nope}", "s3://my-bucket"
        )
    )
    status, out, _ = run_cli("validate", pipeline)
    assert status == 1
    lines = out.splitlines()
    # In every environment: reported once, without a note.
    assert sum("instance_typ" in line for line in lines) == 1
    assert "[environment:" not in next(line for line in lines if "instance_typ" in line)
    # Only where the value is missing: reported once, naming that environment.
    model = [line for line in lines if "existing_model_name" in line]
    assert len(model) == 1 and "names nothing [environment: local]" in model[0]
    # --env checks one environment only: no note, and aws has the value.
    status, out, _ = run_cli("validate", "--env", "aws", pipeline)
    assert "existing_model_name" not in out and "[environment:" not in out
    assert out.splitlines()[-1] == "1 problem in 1 of 1 file"


def test_duplicate_dag_ids_across_files(pipelines_dir, run_cli):
    write(pipelines_dir, "a.yaml", SMALL)
    write(pipelines_dir, "b.yaml", "dag_id: a\n" + SMALL)
    status, out, _ = run_cli("validate")
    assert status == 1
    assert f"{pipelines_dir / 'b.yaml'}:1:1: dag_id: dag_id 'a' is already used by" in out


def test_a_given_file_is_compared_with_every_pipeline(pipelines_dir, tmp_path, run_cli):
    write(pipelines_dir, "a.yaml", SMALL)
    write(pipelines_dir, "z.yaml", "start_date: [broken\n")
    changed = write(tmp_path, "changed.yaml", "dag_id: a\n" + SMALL)
    status, out, _ = run_cli("validate", changed)
    assert status == 1
    assert out.splitlines() == [
        f"{changed}:1:1: dag_id: dag_id 'a' is already used by {pipelines_dir / 'a.yaml'} "
        "(DAG ids must be unique: set dag_id or rename the file)",
        "1 problem in 1 of 1 file",
    ]


def test_folders_worker_processes_and_cache(pipelines_dir, tmp_path, monkeypatch, run_cli):
    for n in range(30):
        write(pipelines_dir, f"p{n:02d}.yaml", SMALL)
    write(pipelines_dir / "..", "outside.yaml", SMALL)
    write(pipelines_dir, "p17.yaml", BROKEN)
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "cache"))
    status, out, _ = run_cli("validate", "--jobs", "2", pipelines_dir)
    assert status == 1
    assert out.splitlines()[-1] == "3 problems in 1 of 30 files"
    assert f"{pipelines_dir / 'p17.yaml'}:6:5:" in out
    entries = [p.name for p in (tmp_path / "cache").rglob("*.json")]
    environments = [name for name in entries if name.startswith("env-")]  # read as the loader reads them
    assert len(environments) == len(environment_names())
    assert len(entries) == (30 + 1) * len(environment_names())
    write(pipelines_dir, "p03.yaml", BROKEN)  # one changed file: the rest comes from the cache
    status, out, _ = run_cli("validate", "--jobs", "2", pipelines_dir)
    assert out.splitlines()[-1] == "6 problems in 2 of 30 files"


def test_cache_gives_the_same_answers(pipelines_dir, tmp_path, monkeypatch, run_cli):
    write(pipelines_dir, "bad.yaml", BROKEN)
    write(pipelines_dir, "good.yaml", SMALL)
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "cache"))
    first = run_cli("validate", "--format", "json")
    assert list((tmp_path / "cache").rglob("*.json"))
    assert run_cli("validate", "--format", "json") == first
    assert run_cli("validate", "--format", "json", "--no-cache") == first


def test_validate_never_imports_airflow():
    code = (
        "import sys; from sagemaker_pipelines.toolkit.cli import main; status = main(['validate']); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'dagfactory', 'graphviz'}); "
        "print(status, heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CHECKOUT_ROOT, env=subprocess_env(), capture_output=True, text=True
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stderr


def test_build_reports_what_airflow_rejects_as_the_pipelines_problem(pipelines_dir, tmp_path, monkeypatch):
    """``validate --build`` builds each DAG with Airflow, as its DAG file does, so a rule only Airflow
    knows still fails the pipeline, as a problem of its YAML file. Airflow's rule here is real (a
    @continuous DAG runs one run at a time); our own check of it is switched off, as for a rule a newer
    Airflow adds. The DAGs Airflow accepted are marked in the cache as built."""
    from sagemaker_pipelines.cache.compile_cache import CompileCache
    from sagemaker_pipelines.checks import semantics
    from sagemaker_pipelines.toolkit.dag_building import build_problems

    good = write(pipelines_dir, "good.yaml", SMALL)
    refused = write(pipelines_dir, "refused.yaml", "schedule: '@continuous'\nmax_active_runs: 3\n" + SMALL)
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "checked"))
    assert [p.field for p in build_problems([(refused, "refused")], ["local"])] == ["max_active_runs"]

    monkeypatch.setattr(semantics._Checker, "continuous_runs", lambda self: None)
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "cache"))  # no answer of the above
    found = build_problems([(good, "good"), (refused, "refused")], ["local"])
    assert [(p.file.rsplit("/", 1)[-1], p.code) for p in found] == [("refused.yaml", "airflow")]
    assert "ContinuousTimetable requires max_active_runs <= 1" in found[0].message
    assert len(list(CompileCache(tmp_path / "cache").folder.rglob("*.built"))) == 1  # the good DAG's


def test_build_on_the_command_line_builds_every_valid_pipeline(pipelines_dir, tmp_path):
    write(pipelines_dir, "good.yaml", SMALL)
    write(pipelines_dir, "broken.yaml", BROKEN)  # reported by the checks, not built
    cache = tmp_path / "cache"
    done = run_module(
        "validate", "--env", "local", "--build", env=subprocess_env(SAGEMAKER_PIPELINES_CACHE_DIR=str(cache))
    )
    assert done.returncode == 1 and "broken.yaml" in done.stdout and "good.yaml" not in done.stdout, (
        done.stdout
    )
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert len(list(cache.rglob("*.built"))) == 1

    elsewhere = tmp_path / "untouched"  # --no-cache: neither the checks nor the build use one
    env = subprocess_env(SAGEMAKER_PIPELINES_CACHE_DIR=str(elsewhere))
    done = run_module(
        "validate", "--env", "local", "--build", "--no-cache", pipelines_dir / "good.yaml", env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not elsewhere.exists()


def test_github_escaping():
    problem = Problem("pipelines/a,b:c.yaml", 3, 7, "tasks.x", "50% done\r\nnext line", "hint, with: colon")
    assert github_annotation(problem) == (
        "::error file=pipelines/a%2Cb%3Ac.yaml,line=3,col=7,title=tasks.x::"
        "50%25 done%0D%0Anext line (hint, with: colon)"
    )
    assert escape_data("100%") == "100%25"
    whole_file = Problem("pipelines/x.yaml", message="cannot read the file")
    assert github_annotation(whole_file) == "::error file=pipelines/x.yaml::cannot read the file"


def test_colour_only_when_asked():
    problem = Problem("p.yaml", 1, 2, "tasks", "bad", "hint")
    assert format_problem(problem) == "p.yaml:1:2: tasks: bad (hint)"
    coloured = format_problem(problem, colour=True)
    assert "\033[" in coloured and re.sub(r"\033\[\d+m", "", coloured) == problem.format()


def test_summary_wording():
    assert Summary(5, ["aws", "local"]).text() == "5 pipelines valid (2 environments)"
    assert Summary(1, ["local"]).text() == "1 pipeline valid (environment local)"
    problems = [Problem("a.yaml", 1, 1), Problem("a.yaml", 2, 1), Problem("b.yaml", 1, 1)]
    assert Summary(5, ["aws"], problems).text() == "3 problems in 2 of 5 files"


def test_a_broken_environment_file_is_a_problem_too(tmp_path, monkeypatch, run_cli):
    environments = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS, environments)
    (environments / "local.yaml").write_text("region: 42\n")
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(environments))
    status, out, _ = run_cli("validate", PIPELINES / "iris_training.yaml")
    assert status == 1
    assert f"{environments / 'local.yaml'}:1:1: missing required field" in out
    assert "iris_training" not in out  # still checked in aws, and valid there
