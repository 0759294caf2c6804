"""The compile cache answers unchanged pipelines and never hides a changed or broken one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from sagemaker_pipelines.cache.compile_cache import CompileCache, check_file_cached, load_environment_cached
from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.problems import PipelineInvalid
from tests.projects import clean_env, make_project

TRAIN = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, sample_size: 100, feature_dim: 4, predictor_type: classifier}
    inputs:
      train: s3://my-bucket/iris/train.csv
"""


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


@pytest.fixture
def env():
    return load_environment("local")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the examples and include/ that the test may edit."""
    pipelines = tmp_path / "pipelines"
    shutil.copytree(CHECKOUT_ROOT / "pipelines", pipelines)
    include = tmp_path / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(include))
    return tmp_path


def test_hit_equals_a_fresh_check(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "iris_training.yaml"
    first = check_file_cached(path, env, cache)
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    second = check_file_cached(path, env, cache)
    assert second.compiled.as_dict() == first.compiled.as_dict() == check_file(path, env).compiled.as_dict()


def test_tasks_write_the_common_parts_of_their_guards_once_and_read_them_back(project, env, tmp_path):
    """The environment's guardrails and loopback guard, the same inside the tasks' pre_execute, are kept
    once per entry, and a hit gives the tasks one object for each."""
    import json

    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "iris_training.yaml"
    fresh = check_file(path, env).compiled
    check_file_cached(path, env, cache)
    (entry,) = (tmp_path / "cache").glob("*.json")
    stored = json.loads(entry.read_bytes())["entry"]
    guarded = [t for t in fresh.tasks if "pre_execute" in t.kwargs]
    assert len(guarded) > 1 and len(stored["shared_at"]) >= len(guarded)
    hit = check_file_cached(path, env, cache).compiled
    assert hit.as_dict() == fresh.as_dict()
    parts = [d for t in hit.tasks if "pre_execute" in t.kwargs for d in _dicts(t.kwargs["pre_execute"])]
    assert len({id(d) for d in parts}) < len(parts)  # parts of several tasks are one object


def _dicts(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)


def test_changed_text_is_checked_again(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "iris_training.yaml"
    assert check_file_cached(path, env, cache).ok
    path.write_text(path.read_text().replace("algorithm: knn", "algorithm: knnn"))
    result = check_file_cached(path, env, cache)
    assert not result.ok and "knnn" in result.problems[0].message


def test_broken_pipeline_stays_broken_from_the_cache(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "broken.yaml"
    path.write_text("start_date: 2024-01-01\ntasks: {a: {kind: trainin}}\n")
    first = check_file_cached(path, env, cache)
    second = check_file_cached(path, env, cache)
    assert not first.ok and second.problems == first.problems


def test_deleted_include_file_is_not_hidden(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "iris_training.yaml"
    assert check_file_cached(path, env, cache).ok
    (project / "include" / "iris_data.py").unlink()
    result = check_file_cached(path, env, cache)
    assert not result.ok
    assert any("does not exist" in p.message for p in result.problems)


def test_other_environment_is_another_entry(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    path = project / "pipelines" / "batch_inference.yaml"
    local = check_file_cached(path, env, cache)
    aws = check_file_cached(path, load_environment("aws"), cache)
    assert local.compiled.task("save_results").kind == "s3_to_sql"
    assert aws.compiled.task("save_results").kind == "s3_to_redshift"


def test_unwritable_cache_folder_means_no_cache(project, env, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cache = CompileCache(blocker / "cache")
    assert check_file_cached(project / "pipelines" / "iris_training.yaml", env, cache).ok
    assert cache.folder is None


def test_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", "off")
    assert CompileCache.default().folder is None


@pytest.fixture
def environments(tmp_path, monkeypatch):
    """A copy of environments/ that the test may edit."""
    folder = tmp_path / "environments"
    shutil.copytree(CHECKOUT_ROOT / "environments", folder)
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    return folder


def test_environment_from_the_cache_equals_a_fresh_load(environments, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    first = load_environment_cached("local", cache)
    assert len(list((tmp_path / "cache").glob("env-*.json"))) == 1
    second = load_environment_cached("local", cache)
    assert first == second == load_environment("local")


def test_each_cache_folder_gets_the_environment_a_process_read_already(environments, tmp_path):
    """The process keeps what it read, but a second cache (validate at image build after another check in
    the same process) still gets its own entry, for the fresh processes that will read that folder."""
    for name in ("first", "second"):
        load_environment_cached("local", CompileCache(tmp_path / name))
        assert len(list((tmp_path / name).glob("env-*.json"))) == 1, name


def test_changed_environment_is_read_again(environments, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    assert load_environment_cached("local", cache).check_interval != 7
    path = environments / "local.yaml"
    path.write_text(path.read_text().replace("check_interval: 1\n", "check_interval: 7\n"))
    assert load_environment_cached("local", cache).check_interval == 7


def test_broken_environment_is_never_cached(environments, tmp_path):
    cache = CompileCache(tmp_path / "cache")
    (environments / "broken.yaml").write_text("region: [\n")
    for _ in range(2):
        with pytest.raises(PipelineInvalid) as raised:
            load_environment_cached("broken", cache)
        assert raised.value.problems[0].file.endswith("broken.yaml")
    with pytest.raises(PipelineInvalid, match="no environment 'nope'"):
        load_environment_cached("nope", cache)
    assert not list((tmp_path / "cache").glob("env-*.json"))


PROBE = """
import runpy, sys
import sagemaker_pipelines.cache.compile_cache as cache
import sagemaker_pipelines.format.environment as environment
if sys.argv[2] == "must-hit":  # a miss would check the pipeline or read the environment: fail loudly
    def refuse(*args, **kwargs):
        raise AssertionError("checked afresh: the cache missed")
    cache.check_text = refuse
    environment.load_environment = refuse
if sys.argv[2:] == ["must-hit", "built"]:  # nor would Airflow's DAG.validate run again
    from airflow.sdk.definitions.dag import DAG
    DAG.validate = refuse
dag = runpy.run_path(sys.argv[1])["dag"]
print("tasks:", len(dag.task_ids), "root:", cache.CompileCache.default().folder)
"""


@pytest.mark.skipif(not can_mount(), reason="needs root and unshare to mount the bundle read-only")
def test_a_read_only_bundle_keeps_its_cache_in_the_users_cache_folder(tmp_path):
    project = make_project(tmp_path / "bundle", shipped=False, pipelines={"train.yaml": TRAIN})
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home), AIRFLOW_HOME=str(tmp_path / "airflow"), SAGEMAKER_PIPELINES_ENV="local")
    dag_file = project / "dags" / "train.py"

    def parse_read_only(mode: str) -> str:
        # A private mount namespace in which the bundle is read-only, as an image's layer or a Git
        # bundle's checkout is: even root cannot write there.
        script = f'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" -c "$3" "$4" {mode}'
        argv = [
            "unshare",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            str(project),
            sys.executable,
            PROBE,
            str(dag_file),
        ]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return next(line for line in done.stdout.splitlines() if line.startswith("tasks:"))

    first = parse_read_only("may-miss")
    assert first.startswith("tasks: 1 root: ") and str(home / ".cache" / "sagemaker-pipelines") in first
    assert not (project / ".local").exists()
    assert parse_read_only("must-hit") == first  # a fresh process answered from that folder


def test_validate_at_image_build_warms_what_a_fresh_pod_reads_from_a_read_only_bundle(tmp_path):
    """docs/deploy.md: an image whose build runs ``validate --build`` over the bundle it copied in carries
    the entries the loader reads, so a fresh pod's first parse of a DAG file checks nothing afresh, nor
    has Airflow validate the DAG again."""
    project = make_project(tmp_path / "bundle", shipped=False, pipelines={"train.yaml": TRAIN})
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home), AIRFLOW_HOME=str(tmp_path / "airflow"), SAGEMAKER_PIPELINES_ENV="local")
    subprocess.run(["chmod", "-R", "a-w", str(project)], check=True)  # as an image layer has it
    try:
        build = [sys.executable, "-m", "sagemaker_pipelines.toolkit", "validate", "--env", "local", "--build"]
        done = subprocess.run(
            build, env={**env, "SAGEMAKER_PIPELINES_ROOT": str(project)}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        pod = [sys.executable, "-c", PROBE, str(project / "dags" / "train.py"), "must-hit", "built"]
        done = subprocess.run(pod, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"tasks: 1 root: {home / '.cache' / 'sagemaker-pipelines'}" in done.stdout
        assert not (project / ".local").exists()
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(project)], check=True)


def test_a_new_bundle_folder_with_the_same_files_answers_from_the_entries_of_the_last(
    env, tmp_path, monkeypatch
):
    """A Git bundle checks each version out into a new folder: the same files there hit the cache, and
    the compiled requests name the new folder's include files, exactly as a fresh check there does."""
    from sagemaker_pipelines.cache import compile_cache
    from sagemaker_pipelines.paths import ROOT_VARIABLE

    cache = CompileCache(tmp_path / "cache")
    results = {}
    for version in ("v1", "v2"):
        bundle = tmp_path / "bundles" / version
        shutil.copytree(CHECKOUT_ROOT / "pipelines", bundle / "pipelines")
        shutil.copytree(
            CHECKOUT_ROOT / "include", bundle / "include", ignore=shutil.ignore_patterns("__pycache__")
        )
        monkeypatch.setenv(ROOT_VARIABLE, str(bundle))
        monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(bundle / "include"))
        if version == "v2":
            monkeypatch.setattr(compile_cache, "check_text", _refuse)
        path = bundle / "pipelines" / "iris_script_mode.yaml"
        results[version] = check_file_cached(path, env, cache).compiled.as_dict()
        assert results[version] == check_file(path, env).compiled.as_dict()
    assert str(tmp_path / "bundles" / "v1" / "include") in json.dumps(results["v1"])
    assert str(tmp_path / "bundles" / "v1") not in json.dumps(results["v2"])


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("checked afresh: the cache missed")


def test_a_project_nobody_may_write_keeps_its_cache_in_the_users_folder_and_the_variable_still_wins(
    tmp_path, monkeypatch
):
    """``chmod a-w`` on the bundle (as an image layer has it) sends the cache out of it, root or not."""
    from sagemaker_pipelines.cache.location import default_root
    from sagemaker_pipelines.paths import ROOT_VARIABLE

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    monkeypatch.setenv(ROOT_VARIABLE, str(bundle))
    monkeypatch.delenv("SAGEMAKER_LOCAL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == bundle / ".local" / "cache"
    bundle.chmod(0o555)
    try:
        assert default_root() == tmp_path / "xdg" / "sagemaker-pipelines"
        monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "chosen"))
        assert CompileCache.default().folder.parent == tmp_path / "chosen"
    finally:
        bundle.chmod(0o755)


def test_the_code_version_is_kept_under_the_files_stamps_and_hashed_again_when_one_changes(
    tmp_path, monkeypatch
):
    from sagemaker_pipelines.cache import compile_cache

    runtime = tmp_path / "runtime.py"
    runtime.write_text("x = 1\n")
    monkeypatch.setattr(compile_cache, "runtime_source_files", lambda: [runtime])
    root = tmp_path / "cache"
    first = compile_cache._code_version.__wrapped__(root)
    assert first == compile_cache._code_version.__wrapped__() and (root / "code-version").is_file()
    stamp = os.stat(runtime)
    runtime.write_text("x = 2\n")  # same size; its old time put back: the kept digest answers, unhashed
    os.utime(runtime, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert compile_cache._code_version.__wrapped__(root) == first
    runtime.write_text("x = 20\n")
    changed = compile_cache._code_version.__wrapped__(root)
    assert changed != first and changed == compile_cache._code_version.__wrapped__()


def test_no_cache_computes_no_key(project, env, monkeypatch):
    """With the cache off (a fresh pod told so, ``validate --no-cache``) the code version is never hashed."""
    from sagemaker_pipelines.cache import compile_cache

    monkeypatch.setattr(compile_cache, "_code_version", _refuse)
    result = check_file_cached(project / "pipelines" / "iris_training.yaml", env, CompileCache(None))
    assert result.ok


def test_the_loader_validates_the_dag_of_an_entry_once_per_airflow_version(
    project, env, tmp_path, monkeypatch
):
    """Airflow's DagBag validates every DAG after the file ran: the loader's own check, there to name the
    YAML file on failure, runs for an entry until one of its DAGs passed it."""
    from airflow.sdk import DAG

    from sagemaker_pipelines.airflow.loader import build_pipeline

    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", str(tmp_path / "cache"))
    validated = []
    original = DAG.validate
    monkeypatch.setattr(DAG, "validate", lambda self: validated.append(self.dag_id) or original(self))
    dag_file = project / "dags" / "iris_training.py"
    pipeline = project / "pipelines" / "iris_training.yaml"
    for _ in range(3):
        assert build_pipeline(dag_file, pipeline, "local").dag_id == "iris_training"
    assert validated == ["iris_training"]
    cache = CompileCache.default()
    check_file_cached(pipeline, env, cache)
    assert cache.built_before(__import__("airflow").__version__)
    assert not cache.built_before("0.0.0")
