"""``compile``: the generated Python DAG files build exactly the DAGs the YAML loader builds."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.project import discover
from sagemaker_pipelines.toolkit.pycompile import MARKER, ruff_executable

from .conftest import BROKEN, PIPELINES, SMALL, write

FEATURES = Path(__file__).with_name("features.yaml")
# Attributes that differ by construction: where the DAG was defined and object identities.
_DAG_IGNORED = {"task_group", "task_dict", "fileloc", "relative_fileloc", "last_loaded"}
_DAG_IGNORED |= {"is_dagfactory_auto_generated", "timetable"}  # timetables: compared on their own
_TASK_IGNORED = {"_dag", "task_group"}
_CALLBACKS = ("on_failure_callback", "on_success_callback", "on_retry_callback")
_KEY_ATTRIBUTES = ("config", "op_kwargs", "python_callable", "wait_for_completion", "check_interval")
_KEY_ATTRIBUTES += ("aws_conn_id", "region_name", "print_log", "parser", "retries", "retry_delay")


def dag_bag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag.dags


def assert_same_dag(expected, actual) -> None:
    """Same DAG arguments, tasks, operator classes, dependencies and operator attributes."""
    assert actual.dag_id == expected.dag_id
    assert type(actual.timetable) is type(expected.timetable)
    assert actual.timetable == expected.timetable or vars(actual.timetable) == vars(expected.timetable)
    assert actual.schedule == expected.schedule
    assert actual.start_date == expected.start_date
    assert actual.end_date == expected.end_date
    assert actual.default_args == expected.default_args
    assert actual.params.dump() == expected.params.dump()
    for name in expected.params:
        assert actual.params.get_param(name).schema == expected.params.get_param(name).schema
    assert set(actual.tags) == set(expected.tags)
    assert (actual.description, actual.doc_md) == (expected.description, expected.doc_md)
    mine, theirs = vars(actual), vars(expected)
    assert {k: mine.get(k) for k in theirs if k not in _DAG_IGNORED} == {
        k: v for k, v in theirs.items() if k not in _DAG_IGNORED
    }
    assert set(actual.task_dict) == set(expected.task_dict)
    for task_id, want in expected.task_dict.items():
        got = actual.task_dict[task_id]
        assert type(got) is type(want), task_id
        assert got.upstream_task_ids == want.upstream_task_ids, task_id
        for name in (*want.template_fields, *_KEY_ATTRIBUTES):
            assert getattr(got, name, None) == getattr(want, name, None), (task_id, name)
        for name, value in vars(want).items():
            if name == "_BaseOperator__init_kwargs":
                # the loader sets callbacks after dag-factory built the task (airflow/notifiers.py)
                strip = {"dag", "task_group", *_CALLBACKS}
                value = {k: v for k, v in value.items() if k not in strip}
                assert {k: v for k, v in vars(got)[name].items() if k not in strip} == value, task_id
            elif name not in _TASK_IGNORED:
                assert vars(got).get(name) == value, (task_id, name)


@pytest.fixture(scope="module")
def compiled_examples(tmp_path_factory):
    from sagemaker_pipelines.toolkit.cli import main

    out = tmp_path_factory.mktemp("compiled_dags")
    assert main(["compile", "--out", str(out), "--env", "local", "--allow-local"]) == 0
    return out


def test_one_readable_file_per_example(compiled_examples):
    files = sorted(p.name for p in compiled_examples.glob("*.py"))
    assert files == sorted(f"{p.stem}.py" for p in discover(PIPELINES))
    source = (compiled_examples / "iris_training.py").read_text()
    ast.parse(source)
    assert source.startswith(MARKER)
    assert "from airflow.sdk import DAG, Asset, Param"  # publish: outlets are assets in source
    assert "from airflow.providers.amazon.aws.operators.sagemaker import SageMakerModelOperator" in source
    # The job operators are the provider's with one job per task instance (airflow/jobs/operators.py).
    jobs = "from sagemaker_pipelines.airflow.jobs.operators import SageMakerTrainingOperator, "
    assert jobs + "SageMakerTransformOperator" in source
    assert "from sagemaker_pipelines.airflow.tasks import Guardrail, LoopbackOnly, call_include" in source
    # The local environment's guards, as the DAG builder attaches them: the guardrails check of the
    # rendered request (airflow.tasks.Guardrail), after the loopback guard (airflow.tasks.LoopbackOnly).
    assert 'then=LoopbackOnly(environment="local", aws_conn_id="aws_local"),' in source
    assert "pre_execute=Guardrail(\n" in source
    assert "with DAG(" in source and "python_callable=call_include," in source
    assert '"retry_delay": timedelta(seconds=' in source
    assert re.search(r'"k": Param\(\s*default=3, type="integer"', source)
    assert "train_model >> create_model" in source
    batch = (compiled_examples / "batch_inference.py").read_text()
    assert "from sagemaker_pipelines.airflow.tasks import Guardrail, LoopbackOnly, parse_csv" in batch
    assert "parser=parse_csv," in batch
    assert 'filename=str(include_path("include/data/test.csv")),' in batch


def test_files_are_ruff_formatted(compiled_examples):
    ruff = ruff_executable()
    if ruff is None:
        pytest.skip("ruff is not installed")
    files = sorted(map(str, compiled_examples.glob("*.py")))
    check = [ruff, "format", "--isolated", "--line-length", "110", "--check", *files]
    assert subprocess.run(check, capture_output=True).returncode == 0


def test_compiled_examples_equal_the_loaders_dags(compiled_examples):
    expected = dag_bag(PIPELINES.parent / "dags")  # the committed per-pipeline DAG files
    actual = dag_bag(compiled_examples)
    assert set(actual) == set(expected)
    for dag_id, dag in expected.items():
        assert_same_dag(dag, actual[dag_id])


@pytest.mark.parametrize("environment", ["local", "aws"])
def test_every_feature_compiles_to_the_same_dag(environment, tmp_path, run_cli):
    from sagemaker_pipelines.airflow.dag_builder import build_dag

    out = tmp_path / "out"
    status, _, err = run_cli("compile", FEATURES, "--out", out, "--env", environment, "--allow-local")
    assert status == 0, err
    result = check_file(FEATURES, load_environment(environment))
    assert_same_dag(build_dag(result.compiled), dag_bag(out)["features"])
    source = (out / "features.py").read_text()
    assert "schedule=AssetOrTimeSchedule(" in source and 'CronTriggerTimetable("0 6 * * *"' in source
    assert 'AssetAll(Asset("s3://my-bucket/a"), Asset("s3://my-bucket/b"))' in source
    assert 'outlets=[Asset("s3://my-bucket/batch/out"), Asset("s3://my-bucket/batch/latest")],' in source
    assert "wait_for_data = S3KeySensor(" in source and 'task_id="wait-for-data",' in source


def test_invalid_pipelines_are_reported_and_stale_files_pruned(pipelines_dir, tmp_path, run_cli):
    write(pipelines_dir, "good.yaml", SMALL)
    write(pipelines_dir, "bad.yaml", BROKEN)
    out = tmp_path / "out"
    out.mkdir()
    (out / "gone.py").write_text(MARKER + "\n")
    (out / "bad.py").write_text(MARKER + "\n")  # the last good version of a now broken pipeline
    (out / "mine.py").write_text("# not generated\n")
    status, stdout, _ = run_cli("compile", "--out", out, "--allow-local")
    assert status == 1
    assert f"{pipelines_dir / 'bad.yaml'}:6:5:" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["bad.py", "good.py", "mine.py"]
    assert "removed stale" in stdout and "gone.py" in stdout


def test_task_ids_that_are_not_python_names(tmp_path, run_cli):
    from sagemaker_pipelines.airflow.dag_builder import build_dag

    step = "    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
    pipeline = write(
        tmp_path,
        "odd_ids.yaml",
        "start_date: 2024-01-01\ntasks:\n"
        + "".join(
            f"  {task_id}:\n{step}" + (f"    depends_on: [{before}]\n" if before else "")
            for task_id, before in [("call_include", None), ("DAG", "call_include"), ("'1st'", "DAG")]
        )
        + f"  class:\n{step}    depends_on: ['1st']\n",
    )
    out = tmp_path / "out"
    assert run_cli("compile", pipeline, "--out", out, "--allow-local")[0] == 0
    source = (out / "odd_ids.py").read_text()
    assert "call_include_task = PythonOperator(" in source and "python_callable=call_include," in source
    assert "task_1st >> class_task" in source
    result = check_file(pipeline, load_environment("local"))
    assert_same_dag(build_dag(result.compiled), dag_bag(out)["odd_ids"])


def test_compiled_files_import_with_only_the_installed_package(tmp_path):
    """As the README says: a compiled file in a project's dags/ imports wherever the runtime package is
    installed, with no PYTHONPATH entry for the project and no variable; it finds that project's include/."""
    from sagemaker_pipelines.paths import SOURCE_DIR

    site = tmp_path / "site-packages"  # the package alone, as `pip install .` puts it: no checkout above
    shutil.copytree(SOURCE_DIR / "sagemaker_pipelines", site / "sagemaker_pipelines")
    project = tmp_path / "bundle"
    shutil.copytree(CHECKOUT_ROOT / "include", project / "include")
    from sagemaker_pipelines.toolkit.cli import main

    assert main(["compile", "--out", str(project / "dags"), "--env", "local", "--allow-local"]) == 0
    probe = (
        "import sys; from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(project / 'dags')!r});"
        "assert not bag.import_errors, bag.import_errors;"
        "import sagemaker_pipelines;"
        "print(sorted(bag.dags), sagemaker_pipelines.__file__,"
        " bag.dags['batch_inference'].task_dict['upload_data'].filename)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(sorted(p.stem for p in PIPELINES.glob("*.yaml"))) in done.stdout
    assert str(site) in done.stdout and str(project / "include" / "data" / "test.csv") in done.stdout
