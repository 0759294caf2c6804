"""A cache of checked-and-compiled pipelines, keyed by content, so Airflow's re-parse is nearly free.

Airflow re-parses the DAG folder every 30 seconds; YAML parsing, schema validation and the botocore
check of an unchanged file give the same answer every time. The key covers everything the answer
depends on: the pipeline's bytes and its path in the project, the environment file, the schema, the
runtime's source (``paths.runtime_source_files()``) and the versions of the libraries that check. Files
under ``include/`` are inputs too, however the pipeline names them (literally, through ``${env.x}``, a
YAML escape): the checked result lists the ones it used, the entry records each one's size and SHA-256,
and a hit re-reads them, so an edited, renamed or deleted script is never hidden - whatever its mtime.
Broken pipelines are cached too: they stay broken until something they depend on changes. Where the
project is does not count (entries hold the include folder as a marker, :mod:`.entry`): a new bundle
folder with the same files, as a Git bundle checks out per version, hits what the last one wrote.

A cache entry becomes a DAG, so it must not be a way in (:mod:`.trust`): entries are JSON (never
pickle), authenticated with this installation's secret, checked for shape, and ignored in a folder
another user could write. Anything unusable is a miss, never an exception; a cache folder that cannot
be written just means no cache.

Beside an entry, ``<key>.built`` (authenticated the same way) says that a DAG built from exactly that
entry passed Airflow's ``DAG.validate`` in this Airflow version: the loader validates a DAG to name the
YAML file when Airflow rejects it, and the DagBag validates it again right after, so a warm parse
need not pay that twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import sys
from functools import cache
from pathlib import Path

from sagemaker_pipelines.cache.entry import Fingerprints, decode, encode, entry_mac
from sagemaker_pipelines.cache.location import default_root
from sagemaker_pipelines.cache.trust import installation_secret, read_owned, trusted_folder, warn_once
from sagemaker_pipelines.cache.trust import write_private as _write_private
from sagemaker_pipelines.checker import CheckResult, check_text, read_pipeline
from sagemaker_pipelines.format.environment import Environment
from sagemaker_pipelines.paths import (
    display_path,
    include_dir,
    runtime_source_files,
    schemas_dir,
)
from sagemaker_pipelines.problems import Problem

CACHE_VARIABLE = "SAGEMAKER_PIPELINES_CACHE_DIR"  # "off" disables the cache
FORMAT = "4"  # of keys and entries; a change makes every old entry a miss
MAX_ENTRY_BYTES = 64 * 1024 * 1024
CODE_VERSION_FILE = "code-version"
_LIBRARIES = ("botocore", "jsonschema", "pyyaml", "croniter")
_MODULES = ("botocore", "jsonschema", "yaml", "croniter")  # the same, as imported


@cache
def _code_version(root: Path | None = None) -> str:
    """Changes whenever the checker, compiler, schema or a library that checks could answer differently:
    a digest of their bytes and versions.

    Hashing the runtime's two megabytes cost every fresh process (each task start) some 10 ms, so with a
    cache ``root`` the digest is kept there (``code-version``, this user's file) under the files' sizes
    and modification times, the same test Python's own bytecode cache trusts; a changed file is hashed
    again."""
    files = runtime_source_files() + sorted(schemas_dir().glob("*.json"))
    memo = root / CODE_VERSION_FILE if root is not None and trusted_folder(root) else None
    stamp = _stamp(files) if memo is not None else None
    if memo is not None and stamp is not None:
        known = read_owned(memo, 256)
        if isinstance(known, bytes) and known.startswith(stamp + b" ") and len(known) == len(stamp) + 17:
            return known[-16:].decode()
    from importlib.metadata import version

    libraries = "/".join([sys.version, *(version(name) for name in _LIBRARIES)])
    digest = hashlib.sha256(FORMAT.encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(libraries.encode())
    found = digest.hexdigest()[:16]
    if memo is not None and stamp is not None:
        with contextlib.suppress(OSError):
            _write_private(memo, stamp + b" " + found.encode())
    return found


def _stamp(files: list[Path]) -> bytes | None:
    """The sizes and modification times of ``files`` and of the checking libraries (by their installed
    files: asking importlib.metadata for versions costs more than all the rest), or None."""
    signature = hashlib.sha256(f"{FORMAT}\0{sys.version}".encode())
    try:
        for path in files + _library_files():
            info = path.stat()
            signature.update(f"\0{path}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    except OSError:
        return None
    return signature.hexdigest().encode()


def _library_files() -> list[Path]:
    """The file each checking library is found at (its ``__init__.py``), located without importing it."""
    import importlib.util

    found = []
    for name in _MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            found.append(Path(spec.origin))
    return found


def fingerprint(relative: str, root: str | None = None) -> object:
    """What the cache remembers of an include path: a file's size and SHA-256, ``"dir"``, or None.

    ``root`` is the include folder (looked up once per entry by the caller); the path is read as the
    task will read it, symbolic links followed.
    """
    base = root if root is not None else str(include_dir())
    path = os.path.join(base, relative.removeprefix("include").lstrip("/"))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        return "dir"
    except OSError:
        return None
    return [len(data), hashlib.sha256(data).hexdigest()]


class CompileCache:
    """One authenticated JSON file per checked pipeline, under ``.local/cache/<code version>/``, or the
    user's cache folder when the project is read-only (:func:`default_root`).

    The installation's key is ``cache.key`` beside the entry folder (``.local/cache/cache.key``).
    """

    def __init__(self, folder: Path | None, code_version: str | None = None):
        self.folder = folder
        self._code_version = code_version
        self._secret: bytes | None = None
        self._checked = False
        self._entry: tuple[str, bytes] | None = None  # key and MAC of the entry last read or written

    @classmethod
    def default(cls) -> CompileCache:
        setting = os.environ.get(CACHE_VARIABLE)
        if setting == "off":
            return cls(None)
        root = Path(setting) if setting else default_root()
        version = _code_version(root)
        return cls(root / version, version)

    def _ready(self) -> bool:
        """On first use: the folders are this user's alone and the key is known; else no cache at all."""
        if not self._checked:
            self._checked = True
            folder = self.folder
            if folder is not None and trusted_folder(folder.parent) and trusted_folder(folder):
                self._secret = installation_secret(folder.parent)
            if self._secret is None:
                self.folder = None
        return self.folder is not None

    def key(self, text: str, file: str, environment: Environment) -> str:
        digest = hashlib.sha256()
        parts = (
            FORMAT,
            self._code_version or _code_version(),
            file,
            environment.name,
            environment.text,
            text,
        )
        for part in parts:
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def get(self, key: str) -> CheckResult | None:
        """The result under ``key`` if this installation wrote it and its include files are unchanged."""
        try:
            if not self._ready():
                return None
            data = read_owned(self.folder / f"{key}.json", MAX_ENTRY_BYTES)
            if isinstance(data, str):
                warn_once("entry", "compile cache: ignoring entries such as %s: %s", key, data)
                return None
            root = str(include_dir())
            decoded = decode(key, data, self._secret, root) if data else None
            if decoded is None:
                return None
            result, includes = decoded
            if any(fingerprint(path, root) != recorded for path, recorded in includes.items()):
                return None
            self._entry = (key, entry_mac(data))
            return result
        except Exception:  # a cache is an optimisation: whatever goes wrong is a miss
            return None

    def put(self, key: str, text: str, result: CheckResult) -> None:
        """Remember ``result``; ``text`` is kept for the signature's sake (includes come from the result)."""
        if not self._ready():
            return
        root = str(include_dir())
        includes: Fingerprints = {path: fingerprint(path, root) for path in result.includes}
        try:
            data = encode(key, result, includes, self._secret, root)
        except (TypeError, ValueError):  # a result that is not plain data: answer it, do not keep it
            return
        try:
            _write_private(self.folder / f"{key}.json", data)
            self._entry = (key, entry_mac(data))
        except OSError:
            self.folder = None  # read-only deployment: run without a cache

    def _built_mark(self, airflow_version: str) -> bytes | None:
        if self._entry is None or self.folder is None or self._secret is None:
            return None
        key, mac = self._entry
        message = b"\n".join((b"built", key.encode(), mac, airflow_version.encode()))
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest().encode()

    def built_before(self, airflow_version: str) -> bool:
        """Whether a DAG of the entry last read passed Airflow's ``DAG.validate`` in this Airflow version
        (:meth:`mark_built`). The same entry builds the same DAG, so a parse need not validate it
        twice: Airflow's DagBag validates every DAG again after the file ran."""
        mark = self._built_mark(airflow_version)
        if mark is None:
            return False
        found = read_owned(self.folder / f"{self._entry[0]}.built", 256)
        return isinstance(found, bytes) and hmac.compare_digest(found, mark)

    def mark_built(self, airflow_version: str) -> None:
        """Remember that the DAG of the entry last read or written validated (see :meth:`built_before`)."""
        mark = self._built_mark(airflow_version)
        if mark is not None:
            with contextlib.suppress(OSError):
                _write_private(self.folder / f"{self._entry[0]}.built", mark)


def check_file_cached(path: Path, environment: Environment, cache: CompileCache) -> CheckResult:
    """:func:`checker.check_file`, answered from the cache when nothing it depends on changed."""
    text = read_pipeline(path)
    if isinstance(text, Problem):
        return CheckResult(text.file, path.stem, [text])
    if cache.folder is None:  # no cache: its key (the code version) would cost more than some checks
        return check_text(text, path, environment)
    key = cache.key(text, display_path(path), environment)
    result = cache.get(key)
    if result is None:
        result = check_text(text, path, environment)
        cache.put(key, text, result)
    return result


# Environments this process read, by their file's path and bytes: a DagBag that parses many DAG files in
# one process (a test run, ``dags test``, the benchmark's fill) reads the same environment for each, and
# the same bytes at the same path give the same (frozen) Environment. Per cache folder: one that has not
# seen the environment yet (validate at image build, after another check in the same process) gets its
# entry written.
_LOADED: dict[tuple[str, str, str], Environment] = {}


def load_environment_cached(name: str, cache: CompileCache) -> Environment:
    """:func:`environment.load_environment`, answered from the cache while the file's bytes (and the
    schema and code, through the cache's folder) are unchanged: Airflow parses every DAG file in a
    fresh process, and this spares each one the YAML parse and schema check of the same small file.
    Entries are authenticated like the compile results; anything else is a miss."""
    import dataclasses
    import hmac
    import json

    from sagemaker_pipelines.format.environment import environment_file, load_environment
    from sagemaker_pipelines.names import is_safe_name

    if not is_safe_name(name):
        return load_environment(name)  # raises: a name is never a path to read
    path = environment_file(name)
    try:
        text = path.read_text(encoding="utf-8")
        ready = cache._ready()
    except (OSError, UnicodeDecodeError):
        ready = False
    if not ready:
        return load_environment(name)  # raises, naming what is wrong with the file
    read = (str(cache.folder), str(path), text)
    if (known := _LOADED.get(read)) is not None:
        return known
    shown = display_path(path)
    key = "env-" + hashlib.sha256("\0".join(("environment", name, shown, text)).encode()).hexdigest()
    entry = cache.folder / f"{key}.json"

    def mac(body: bytes) -> bytes:
        return hmac.new(cache._secret, key.encode() + b"\n" + body, hashlib.sha256).hexdigest().encode()

    data = read_owned(entry, MAX_ENTRY_BYTES)
    if isinstance(data, bytes) and b"\n" in data:
        signature, _, body = data.partition(b"\n")
        if hmac.compare_digest(signature, mac(body)):
            try:
                environment = _environment_from(json.loads(body))
            except (TypeError, ValueError):
                pass  # not an entry of this code version's Environment: load the file
            else:
                _LOADED[read] = environment
                return environment
    environment = load_environment(name)
    body = json.dumps(dataclasses.asdict(environment)).encode()
    if (
        environment.text == text
        and environment.file == shown
        and _environment_from(json.loads(body)) == environment
    ):
        _LOADED[read] = environment
        with contextlib.suppress(OSError):
            _write_private(entry, mac(body) + b"\n" + body)
    return environment


def _environment_from(loaded: dict) -> Environment:
    """An Environment from its JSON form (JSON has lists where the dataclass keeps tuples)."""
    import dataclasses

    from sagemaker_pipelines.format.guardrails import read_guardrails

    tuples = {f.name for f in dataclasses.fields(Environment) if "tuple" in str(f.type)}
    fields = {k: tuple(v) if k in tuples else v for k, v in loaded.items()}
    if isinstance(fields.get("guardrails"), dict):  # kept as written: read again like the file
        fields["guardrails"] = read_guardrails(fields["guardrails"]["raw"])
    return Environment(**fields)
