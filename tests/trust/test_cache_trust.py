"""The compile cache cannot be used against the loader: forged, moved, misshapen or foreign entries are
misses (never exceptions, never DAGs), foreign folders are ignored with one warning, and the key covers
every input - include files by content, however the pipeline reaches them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sagemaker_pipelines.cache import compile_cache as cache_module
from sagemaker_pipelines.cache import trust as cache_trust
from sagemaker_pipelines.cache.compile_cache import CompileCache, check_file_cached
from sagemaker_pipelines.cache.entry import _mac
from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import display_path

from .conftest import as_other_user, needs_other_user, probe

EVIL = """\
from pathlib import Path
Path({marker!r}).write_text("ran")
def run(context):
    pass
"""


@pytest.fixture(autouse=True)
def _fresh_warnings():
    cache_trust._warned.clear()
    yield
    cache_trust._warned.clear()


@pytest.fixture
def env(project):
    return load_environment("local")


def entry_file(cache: CompileCache, path: Path, env) -> Path:
    return cache.folder / f"{cache.key(path.read_text(), display_path(path), env)}.json"


def tamper(entry: Path, change) -> None:
    """Edit an entry's content as an attacker with write access would (the MAC stays as it was)."""
    document = json.loads(entry.read_bytes())
    change(document["entry"])
    entry.write_text(json.dumps(document))


def test_a_planted_callback_runs_without_the_guard_and_never_through_the_cache(project, env, tmp_path):
    """The issue's attack: an entry edited to name a callback file. dag-factory runs that file while
    building the DAG (shown by the control); the cache refuses the entry, so the loader never does."""
    cache = CompileCache(tmp_path / "cache" / "v")
    path = project / "pipelines" / "iris_training.yaml"
    assert check_file_cached(path, env, cache).ok
    marker = tmp_path / "owned"
    evil = tmp_path / "evil.py"
    evil.write_text(EVIL.format(marker=str(marker)))
    entry = entry_file(cache, path, env)

    def plant(e):
        e["compiled"]["dag"]["default_args"].update(
            on_failure_callback_file=str(evil), on_failure_callback_name="run"
        )

    tamper(entry, plant)

    control = probe(path, cache.folder, tmp_path, "--entry", str(entry))
    assert marker.read_text() == "ran" and "on_failure_callback" in control["default_args"]
    marker.unlink()

    guarded = probe(path, cache.folder, tmp_path)
    assert guarded["dag_id"] == "iris_training"
    assert "on_failure_callback" not in guarded["default_args"]
    assert not marker.exists()
    # The fresh answer replaced the planted one.
    assert "on_failure_callback_file" not in entry.read_text()


def test_an_authentic_entry_moved_to_another_pipelines_key_is_a_miss(project, env, tmp_path):
    cache = CompileCache(tmp_path / "cache" / "v")
    training = project / "pipelines" / "iris_training.yaml"
    batch = project / "pipelines" / "batch_inference.yaml"
    check_file_cached(training, env, cache)
    check_file_cached(batch, env, cache)
    shutil.copy(entry_file(cache, training, env), entry_file(cache, batch, env))
    assert check_file_cached(batch, env, cache).dag_id == "batch_inference"


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[]", b"null", b'{"file": "x"}', b'{"file":1,"dag_id":"x","dag_id_at":[1],"problems":[],'
     b'"compiled":null,"includes":{}}', b"[" * 100_000, b"\xff\xfe", b'{"problems": [{"line": true}]}'],
)  # fmt: skip
def test_wrong_shapes_are_misses_even_with_a_valid_mac(project, env, tmp_path, body):
    """Valid JSON of another shape (``{}`` hid every DAG with a KeyError) is a miss, not an exception."""
    cache = CompileCache(tmp_path / "cache" / "v")
    path = project / "pipelines" / "iris_training.yaml"
    check_file_cached(path, env, cache)
    entry = entry_file(cache, path, env)
    key = entry.stem
    entry.write_bytes(b'{"mac":"' + _mac(cache._secret, key, body) + b'","entry":' + body + b"}")
    assert cache.get(key) is None
    assert check_file_cached(path, env, cache).ok


@pytest.mark.parametrize("content", [b"", b"{", b"not json", b'{"mac":"00","entry":{}}', b"\0" * 10])
def test_garbage_entries_are_misses(project, env, tmp_path, content):
    cache = CompileCache(tmp_path / "cache" / "v")
    path = project / "pipelines" / "iris_training.yaml"
    check_file_cached(path, env, cache)
    entry_file(cache, path, env).write_bytes(content)
    assert check_file_cached(path, env, cache).ok


def _environment_with(project: Path, **values: str) -> None:
    local = project / "environments" / "local.yaml"
    local.write_text(local.read_text() + "".join(f"  {k}: {v}\n" for k, v in values.items()))


ORIGINAL = "callable: include/iris_data.py:prepare_iris"
WAYS = {
    "through-env": ("callable: ${env.prep_callable}", ""),
    "yaml-escape": ('callable: "\\x69nclude/iris_data.py:prepare_iris"', ""),
    "alias": (
        "callable: *prep",
        "  prep: {type: string, default: &prep include/iris_data.py:prepare_iris}\n",
    ),
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_include_files_count_by_content_however_they_are_named(project, tmp_path, way):
    """A callable reached through ${env.x}, a YAML escape or an alias, renamed in place with its size and
    mtime kept: the cached answer is not reused."""
    _environment_with(project, prep_callable="include/iris_data.py:prepare_iris")
    env = load_environment("local")
    path = project / "pipelines" / "iris_training.yaml"
    written, param = WAYS[way]
    text = path.read_text()
    assert ORIGINAL in text and "params:\n" in text
    path.write_text(text.replace(ORIGINAL, written).replace("params:\n", "params:\n" + param))
    cache = CompileCache(tmp_path / "cache" / "v")
    first = check_file_cached(path, env, cache)
    assert first.ok, [p.format() for p in first.problems]
    assert "include/iris_data.py" in first.includes

    source = project / "include" / "iris_data.py"
    before = source.stat()
    source.write_text(source.read_text().replace("def prepare_iris(", "def prepare_irix("))
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_mtime_ns == before.st_mtime_ns and source.stat().st_size == before.st_size

    again = check_file_cached(path, env, cache)
    assert not again.ok
    assert any("defines no function 'prepare_iris'" in p.message for p in again.problems)


def test_the_key_covers_the_environment_and_the_code(project, env, tmp_path, monkeypatch):
    cache = CompileCache(tmp_path / "cache" / "v")
    text = (project / "pipelines" / "iris_training.yaml").read_text()
    _environment_with(project, unused="1")
    other = load_environment("local")
    assert cache.key(text, "p.yaml", env) != cache.key(text, "p.yaml", other)

    before = cache_module._code_version.__wrapped__()
    runtime = tmp_path / "runtime.py"
    runtime.write_text("x = 1\n")
    monkeypatch.setattr(cache_module, "runtime_source_files", lambda: [runtime])
    first = cache_module._code_version.__wrapped__()
    runtime.write_text("x = 2\n")
    assert first != cache_module._code_version.__wrapped__() != before


def test_a_folder_others_can_write_is_ignored_with_one_warning(project, env, tmp_path, caplog):
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    root.chmod(0o777)
    caplog.set_level(logging.WARNING, logger="sagemaker_pipelines.cache")
    for _ in range(3):
        cache = CompileCache(root / "v")
        for name in ("iris_training", "batch_inference"):
            assert check_file_cached(project / "pipelines" / f"{name}.yaml", env, cache).ok
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "is not used: other users can write to it" in warnings[0] and "chmod go-w" in warnings[0]
    assert not list(root.rglob("*.json")) and not (root / "cache.key").exists()


def test_an_entry_a_symlink_or_writable_by_others_is_ignored(project, env, tmp_path, caplog):
    cache = CompileCache(tmp_path / "cache" / "v")
    path = project / "pipelines" / "iris_training.yaml"
    check_file_cached(path, env, cache)
    entry = entry_file(cache, path, env)
    key = entry.stem
    assert cache.get(key) is not None
    entry.chmod(0o666)
    caplog.set_level(logging.WARNING, logger="sagemaker_pipelines.cache")
    assert cache.get(key) is None
    assert cache.get(key) is None
    assert len(caplog.records) == 1 and "other users can write to it" in caplog.records[0].getMessage()
    entry.chmod(0o600)
    elsewhere = tmp_path / "elsewhere.json"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert cache.get(key) is None


def test_a_key_file_others_can_read_disables_the_cache(project, env, tmp_path, caplog):
    root = tmp_path / "cache"
    cache = CompileCache(root / "v")
    check_file_cached(project / "pipelines" / "iris_training.yaml", env, cache)
    assert oct((root / "cache.key").stat().st_mode & 0o777) == "0o600"
    assert oct((root / "v").stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in (root / "v").glob("*.json"))
    (root / "cache.key").chmod(0o644)
    caplog.set_level(logging.WARNING, logger="sagemaker_pipelines.cache")
    again = CompileCache(root / "v")
    assert check_file_cached(project / "pipelines" / "iris_training.yaml", env, again).ok
    assert again.folder is None
    assert "its key file" in caplog.records[0].getMessage()


@needs_other_user
def test_another_user_cannot_plant_an_entry(project, env):
    """Another local user in the issue's setup: a world-writable cache folder. Their entry, with the key
    anyone can compute, is never used; in a folder the loader makes itself they cannot even write."""
    shared = Path(tempfile.mkdtemp(prefix="trust-cache-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        path = project / "pipelines" / "iris_training.yaml"
        key = CompileCache(None).key(path.read_text(), display_path(path), env)
        compiled = {"dag_id": "iris_training", "file": "x", "environment": "local", "tasks": []}
        compiled["dag"] = {"default_args": {"on_failure_callback_file": "/tmp/evil.py"}}
        planted = {"file": "x", "dag_id": "iris_training", "dag_id_at": [1, 1], "problems": []}
        planted.update(includes={}, compiled=compiled)
        attack = (
            "import json, sys, pathlib\n"
            "folder = pathlib.Path(sys.argv[1])\n"
            "try:\n"
            "    print('key readable:', (folder.parent / 'cache.key').read_text()[:8])\n"
            "except OSError as exc:\n"
            "    print('key unreadable:', type(exc).__name__)\n"
            "forged = {'mac': '0' * 64, 'entry': json.loads(sys.argv[3])}\n"
            "(folder / (sys.argv[2] + '.json')).write_text(json.dumps(forged))\n"
            "print('planted')\n"
        )  # fmt: skip

        # 1. The setup: the folder was made world-writable.
        open_root = shared / "open"
        open_root.mkdir()
        (open_root / "v").mkdir()
        open_root.chmod(0o777)
        (open_root / "v").chmod(0o777)
        done = as_other_user(attack, str(open_root / "v"), key, json.dumps(planted))
        assert "planted" in done.stdout, done.stderr
        assert os.stat(open_root / "v" / f"{key}.json").st_uid != os.geteuid()
        result = check_file_cached(path, env, CompileCache(open_root / "v"))
        assert (
            result.ok
            and result.compiled.dag["default_args"] == check_file(path, env).compiled.dag["default_args"]
        )

        # 2. A folder the cache makes itself: 0700, the key 0600. The other user can do nothing.
        mine = shared / "mine"
        cache = CompileCache(mine / "v")
        assert check_file_cached(path, env, cache).ok
        mine.chmod(0o755)  # even if its parent is readable
        done = as_other_user(attack, str(mine / "v"), key, json.dumps(planted))
        assert "planted" not in done.stdout and "PermissionError" in done.stderr
        assert "key unreadable: PermissionError" in done.stdout
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@needs_other_user
def test_an_entry_another_user_owns_is_ignored_in_a_folder_of_ones_own(project, env, tmp_path, caplog):
    cache = CompileCache(tmp_path / "cache" / "v")
    path = project / "pipelines" / "iris_training.yaml"
    check_file_cached(path, env, cache)
    entry = entry_file(cache, path, env)
    os.chown(entry, 65534, 65534)
    caplog.set_level(logging.WARNING, logger="sagemaker_pipelines.cache")
    assert cache.get(entry.stem) is None
    assert "owned by uid 65534" in caplog.records[0].getMessage()


def test_the_entry_shape_follows_the_compiled_dataclasses():
    """A field added to the compiled form must reach the shape check, or every entry would be a miss."""
    import dataclasses

    from sagemaker_pipelines.cache import entry as cache_entry
    from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask

    assert set(cache_entry._TASK_FIELDS) == {f.name for f in dataclasses.fields(CompiledTask)}
    assert set(cache_entry._PIPELINE_FIELDS) == {f.name for f in dataclasses.fields(CompiledPipeline)}
