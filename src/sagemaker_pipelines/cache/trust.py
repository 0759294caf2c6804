"""Who may have written a cache file: the per-installation secret and the ownership checks.

A cache entry becomes a DAG, so whoever can write one decides what the loader builds (dag-factory
executes a ``default_args.on_failure_callback_file`` named in it while parsing). Three guards:

- every entry carries an HMAC keyed by a secret only this user can read (``cache.key``, 0600, beside
  the cache folders), so an entry is used only if this installation wrote it: the key of an entry is
  computable from public files, its MAC is not;
- a cache folder, the key file or an entry that another user owns or could write is ignored - the
  folder as a whole, with one warning per process saying what to fix;
- everything is opened without following a final symbolic link, and written 0600 through a private
  temporary file, so nobody can point the loader at a file of their choosing.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger("sagemaker_pipelines.cache")

KEY_FILE = "cache.key"
_warned: set[str] = set()


def warn_once(reason: str, message: str, *args: object) -> None:
    """One warning per reason and process: a distrusted cache must not flood the dag-processor's log."""
    if reason not in _warned:
        _warned.add(reason)
        log.warning(message, *args)


def _foreign(info: os.stat_result) -> str:
    """Why a file or folder with this status may hold another user's content, or ``""``."""
    if info.st_uid != os.geteuid():
        return f"it is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"other users can write to it (mode {stat.filemode(info.st_mode)})"
    return ""


def trusted_folder(folder: Path) -> bool:
    """Create ``folder`` (0700) or check an existing one; False, with one warning, when it is foreign."""
    try:
        info = folder.stat()  # every parse asks: an existing folder needs no mkdir (and its EEXIST)
    except FileNotFoundError:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = folder.stat()
        except OSError:
            return False  # read-only deployment: no cache, nothing to warn about
    except OSError:
        return False
    why = _foreign(info) if stat.S_ISDIR(info.st_mode) else "it is not a directory"
    if why:
        warn_once(
            f"folder:{folder}",
            "compile cache %s is not used: %s; the pipelines are checked afresh (fix: chown/chmod go-w it, "
            "or set SAGEMAKER_PIPELINES_CACHE_DIR to a folder of your own)",
            folder,
            why,
        )
        return False
    return True


def read_owned(path: Path, limit: int, private: bool = False) -> bytes | str | None:
    """The content of a regular file this user owns and only this user can write (``private``: and read);
    the reason when it is not such a file; None when there is no file.

    Opened with O_NOFOLLOW and checked on the open descriptor, so the file checked is the file read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be opened safely ({exc.strerror}; a symbolic link?)"
    try:
        info = os.fstat(fd)
        why = _foreign(info) if stat.S_ISREG(info.st_mode) else "it is not a regular file"
        if not why and private and info.st_mode & 0o077:
            why = f"other users can read it (mode {stat.filemode(info.st_mode)})"
        if not why and info.st_size > limit:
            why = f"it has {info.st_size:,} bytes"
        if why:
            return why
        return _read_all(fd, min(limit + 1, info.st_size + 1))
    finally:
        os.close(fd)


def _read_all(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd`` with plain reads: a buffered file object around the descriptor
    cost more than the read itself, for every cache entry of every parse."""
    chunks = []
    while size > 0 and (chunk := os.read(fd, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, 0600, through a temporary file nobody else can have made."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def installation_secret(root: Path) -> bytes | None:
    """The HMAC key of this installation's cache (made on first use), or None when it cannot be trusted."""
    path = root / KEY_FILE
    for _ in range(2):
        data = read_owned(path, 256, private=True)
        if isinstance(data, bytes):
            key = data.strip()
            return key if len(key) == 64 else None
        if isinstance(data, str):
            warn_once(
                f"key:{path}",
                "compile cache %s is not used: its key file %s cannot be trusted: %s (delete it: a new one "
                "is made)",
                root,
                path,
                data,
            )
            return None
        _create_key(path)
    return None


def _create_key(path: Path) -> None:
    """A fresh 256-bit key, published with link() so two processes starting at once agree on one."""
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode() + b"\n")
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    except OSError:
        return
    finally:
        temporary.unlink(missing_ok=True)
