"""Path remapping loaded into local job processes (training scripts, processing scripts).

SageMaker containers see their data under the absolute path /opt/ml. Locally every job gets its own sandbox
folder instead, named by LOCAL_AWS_OPT_ML_ROOT; this module (imported automatically through PYTHONPATH as
``sitecustomize``) makes Python-level file APIs (open, os.*, os.path, pathlib, shutil, glob) see that folder
when a script uses a literal /opt/ml/... path. C extensions that open files themselves are not remapped.
"""

import builtins
import io
import os

_ROOT = os.environ.get("LOCAL_AWS_OPT_ML_ROOT")


def _map(path):
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    if isinstance(text, str) and (text == "/opt/ml" or text.startswith("/opt/ml/")):
        return _ROOT + text[len("/opt/ml") :]
    return path


def _first(fn):
    def wrapper(*args, **kwargs):
        if args:
            args = (_map(args[0]), *args[1:])
        return fn(*args, **kwargs)

    wrapper.__wrapped__ = fn
    return wrapper


def _two(fn):
    def wrapper(src, dst, *args, **kwargs):
        return fn(_map(src), _map(dst), *args, **kwargs)

    wrapper.__wrapped__ = fn
    return wrapper


if _ROOT:
    builtins.open = _first(builtins.open)
    io.open = builtins.open
    for _name in (
        "open",
        "stat",
        "lstat",
        "listdir",
        "scandir",
        "mkdir",
        "makedirs",
        "remove",
        "unlink",
        "rmdir",
        "chdir",
        "access",
        "utime",
        "chmod",
        "truncate",
        "removedirs",
    ):
        if hasattr(os, _name):
            setattr(os, _name, _first(getattr(os, _name)))
    for _name in ("rename", "replace", "link", "symlink"):
        setattr(os, _name, _two(getattr(os, _name)))
