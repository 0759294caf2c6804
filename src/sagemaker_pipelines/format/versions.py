"""Format versions: which version a pipeline file is written in (the migrations between versions are
``migrations.py``'s).

A version is a date (``YYYY-MM``): the month the format changed in a way that would change what a
file already written means or whether it is valid. A file declares its version in the editors' modeline,
as the folder of the schema it names::

    # yaml-language-server: $schema=../schemas/2026-12/pipeline.authored.schema.json

so the editor checks it against that version's schema and ``validate`` reads it as that version. A file
whose modeline names no version (``../schemas/pipeline.authored.schema.json``, every file written
before versions existed) or that has no modeline is read as the oldest version.

A file in the current version is read as it is, so the migrations are imported only for an older one:
Airflow parses each DAG file in a fresh process, and their data classes cost every such process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sagemaker_pipelines.problems import Code, Problem

VERSIONS: tuple[str, ...] = ("2026-11", "2026-12")
OLDEST = VERSIONS[0]
CURRENT = VERSIONS[-1]
SCHEMA_FILE = "pipeline.authored.schema.json"

# The editors' modeline (yaml-language-server reads the first one it finds, on any line).
MODELINE = re.compile(r"^[ \t]*#[ \t]*yaml-language-server:[ \t]*\$schema=(?P<url>\S+)", re.MULTILINE)
# A version is the folder of the schema file: .../<YYYY-MM>/pipeline.authored.schema.json
_VERSION_IN_URL = re.compile(r"(?:^|/)(?P<version>\d{4}-\d{2})/[^/]+$")


@dataclass(frozen=True)
class Declared:
    """The version a file is written in, and where it says so (``written`` is False: read as oldest)."""

    version: str
    written: bool
    line: int = 1
    col: int = 1
    url: str = ""  # the modeline's schema URL, when there is a modeline


def declared_version(text: str) -> Declared:
    """The version ``text`` declares in its modeline; the oldest when the modeline names none."""
    match = MODELINE.search(text)
    if match is None:
        return Declared(OLDEST, written=False)
    url = match.group("url")
    line = text.count("\n", 0, match.start()) + 1
    found = _VERSION_IN_URL.search(url)
    if found is None:
        col = match.start("url") - match.start() + 1
        return Declared(OLDEST, written=False, line=line, col=col, url=url)
    col = match.start("url") + found.start("version") - match.start() + 1
    return Declared(found.group("version"), written=True, line=line, col=col, url=url)


def version_problem(declared: Declared, file: str) -> Problem | None:
    """Why a declared version cannot be read: newer than this installation, or never a version."""
    if declared.version in VERSIONS:
        return None
    known = ", ".join(VERSIONS)
    if declared.version > CURRENT:
        message = f"written for format {declared.version}; this installation knows formats up to {CURRENT}"
        hint = "upgrade sagemaker-pipelines to read it (or write the file for a format listed here)"
    else:
        message = f"unknown format version {declared.version}; the versions are {known}"
        hint = f"name one of them in the schema URL, e.g. ../schemas/{CURRENT}/{SCHEMA_FILE}"
    return Problem(file, declared.line, declared.col, "", message, hint, code=Code.VERSION)


def schema_url(version: str, folder: str = "../schemas/") -> str:
    """The schema URL a file of ``version`` names, relative to ``folder`` (pipelines/ by default)."""
    return f"{folder}{version}/{SCHEMA_FILE}"
