"""A cache of checked-and-compiled pipelines, keyed by content, so Airflow's re-parse is nearly free.

Airflow re-parses the DAG folder every 30 seconds; YAML parsing, schema validation and the botocore
check of an unchanged file give the same answer every time. The key covers everything the answer
depends on: the pipeline's bytes and path, the environment file, the schema, this package's source
and the versions of jsonschema and botocore. Files under ``include/`` that a pipeline names are
checked by modification time on every hit, so a deleted or edited script is never hidden. Broken
pipelines are cached too: they stay broken until their text changes.

Entries are JSON (never pickle: the cache must not be a way to run code). A cache folder that cannot
be written just means no cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from sagemaker_pipelines.checker import CheckResult, check_file, check_text
from sagemaker_pipelines.compile.compiler import CompiledPipeline
from sagemaker_pipelines.format.environment import Environment, environment_file, load_environment
from sagemaker_pipelines.paths import (
    display_path,
    include_dir,
    include_path,
    local_state_dir,
    runtime_source_files,
    schemas_dir,
)
from sagemaker_pipelines.problems import Problem

CACHE_VARIABLE = "SAGEMAKER_PIPELINES_CACHE_DIR"  # "off" disables the cache
_INCLUDE_REFERENCE = re.compile(r"include/[\w./-]+")


@cache
def _code_version() -> str:
    """Changes whenever the checker, compiler or schema could answer differently."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for path in runtime_source_files() + sorted(schemas_dir().glob("*.json")):
        digest.update(path.read_bytes())
    digest.update(f"{version('botocore')}/{version('jsonschema')}/{version('pyyaml')}".encode())
    return digest.hexdigest()[:16]


def _mtime(relative: str) -> int | None:
    try:
        return include_path(relative).stat().st_mtime_ns
    except (OSError, ValueError):
        return None


class CompileCache:
    """One JSON file per checked pipeline, under ``.local/cache/<code version>/``."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    @classmethod
    def default(cls) -> CompileCache:
        setting = os.environ.get(CACHE_VARIABLE)
        if setting == "off":
            return cls(None)
        root = Path(setting) if setting else local_state_dir() / "cache"
        return cls(root / _code_version())

    def key(self, text: str, file: str, environment: Environment) -> str:
        digest = hashlib.sha256()
        for part in (file, str(include_dir()), environment.name, environment.text, text):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def _read(self, name: str) -> Any:
        if self.folder is None:
            return None
        try:
            return json.loads((self.folder / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None

    def _write(self, name: str, entry: Any) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps(entry))
            temporary.replace(self.folder / f"{name}.json")
        except OSError:
            self.folder = None  # read-only deployment: run without a cache

    def get(self, key: str) -> CheckResult | None:
        entry = self._read(key)
        if entry is None:
            return None
        if any(_mtime(path) != mtime for path, mtime in entry["includes"].items()):
            return None
        compiled = CompiledPipeline.from_dict(entry["compiled"]) if entry["compiled"] else None
        problems = [Problem(**p) for p in entry["problems"]]
        return CheckResult(entry["file"], entry["dag_id"], problems, compiled, tuple(entry["dag_id_at"]))

    def put(self, key: str, text: str, result: CheckResult) -> None:
        if self.folder is None:
            return
        entry: dict[str, Any] = {
            "file": result.file,
            "dag_id": result.dag_id,
            "dag_id_at": list(result.dag_id_at),
            "problems": [p.as_dict() for p in result.problems],
            "compiled": result.compiled.as_dict() if result.compiled else None,
            "includes": {ref: _mtime(ref) for ref in set(_INCLUDE_REFERENCE.findall(text))},
        }
        self._write(key, entry)


def check_file_cached(path: Path, environment: Environment, cache: CompileCache) -> CheckResult:
    """:func:`checker.check_file`, answered from the cache when nothing it depends on changed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return check_file(path, environment)  # reports why it cannot be read
    key = cache.key(text, display_path(path), environment)
    result = cache.get(key)
    if result is None:
        result = check_text(text, path, environment)
        cache.put(key, text, result)
    return result


def load_environment_cached(name: str, cache: CompileCache) -> Environment:
    """:func:`environment.load_environment`, answered from the cache while the file's bytes (and the
    schema and code, through the cache's folder) are unchanged: Airflow parses every DAG file in a
    fresh process, and this spares each one the YAML parse and schema check of the same small file."""
    path = environment_file(name)
    try:
        text = path.read_text() if cache.folder is not None else None
    except OSError:
        text = None
    if text is None:
        return load_environment(name)  # no cache, or a file it cannot read: raises, naming what is wrong
    shown = display_path(path)
    digest = hashlib.sha256("\0".join(("environment", name, shown, text)).encode()).hexdigest()
    entry = cache._read(f"env-{digest}")
    if isinstance(entry, dict):
        try:
            return Environment(**entry)
        except TypeError:
            pass  # not an entry of this code version's Environment: load the file
    environment = load_environment(name)
    stored = dataclasses.asdict(environment)
    if environment.text == text and environment.file == shown and _survives_json(stored):
        cache._write(f"env-{digest}", stored)
    return environment


def _survives_json(data: dict[str, Any]) -> bool:
    """Whether JSON gives ``data`` back unchanged (not so for, say, a mapping with integer keys)."""
    try:
        return json.loads(json.dumps(data)) == data
    except (TypeError, ValueError):
        return False
