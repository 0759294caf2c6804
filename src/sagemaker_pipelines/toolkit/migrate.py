"""``migrate``: rewrite pipeline files in the current format version, keeping comments and layout.

The migrations (format/migrations.py) say what to add as
:class:`~sagemaker_pipelines.format.migrations.Insert` records; here each becomes a new line in the
mapping it belongs to, written with that mapping's own indentation, and the modeline names the current
version's schema. Nothing else in the file is touched.
Each rewrite is checked before it is written: the new text must load to exactly the data ``validate``
reads from the old one (migrated in memory), so a file this cannot rewrite faithfully (a flow mapping
``{...}`` where a key must go) is named with the change to make by hand, and left as it is.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sagemaker_pipelines.format.migrations import Insert, migrate_in_memory
from sagemaker_pipelines.format.versions import (
    CURRENT,
    MODELINE,
    SCHEMA_FILE,
    declared_version,
    version_problem,
)
from sagemaker_pipelines.format.yaml_source import Document, YamlProblem, load_document
from sagemaker_pipelines.paths import display_path, pipelines_dir, project_root
from sagemaker_pipelines.problems import Code, Problem, field_path


@dataclass
class Migrated:
    """One file: the version it was written in, its new text, what changed (or why it cannot be)."""

    file: str
    version: str
    text: str
    changes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return self.version == CURRENT and not self.changes


def migrate_text(text: str, path: Path) -> Migrated:
    """``text`` (the file at ``path``) rewritten in the current version; unchanged when it is already."""
    file = display_path(path)
    declared = declared_version(text)
    newer = version_problem(declared, file)
    if newer is not None:
        return Migrated(file, declared.version, text, problems=[newer])
    if declared.url and not declared.url.endswith("/" + SCHEMA_FILE) and declared.url != SCHEMA_FILE:
        message = f"its modeline names the schema '{declared.url}', not a pipeline's {SCHEMA_FILE}"
        hint = "migrate rewrites pipeline files only (environment files have no format versions)"
        return Migrated(
            file,
            declared.version,
            text,
            problems=[Problem(file, declared.line, 1, "", message, hint, code=Code.VERSION)],
        )
    if declared.version == CURRENT and declared.written:
        return Migrated(file, CURRENT, text)
    try:
        doc = load_document(text, file)
    except YamlProblem as exc:
        return Migrated(file, declared.version, text, problems=[exc.problem])
    migrated = load_document(text, file)
    inserts = migrate_in_memory(migrated, declared.version)
    lines = text.splitlines(keepends=True)
    changes: list[str] = []
    problems: list[Problem] = []
    additions: list[tuple[int, str, Insert]] = []  # (after line, text of the new line, why)
    for insert in inserts:
        place = _insertion(doc, lines, insert)
        if place is None:
            problems.append(_by_hand(file, doc, insert))
        else:
            additions.append((*place, insert))
    if problems:
        return Migrated(file, declared.version, text, problems=problems)
    for after, line, _ in sorted(additions, key=lambda a: a[0], reverse=True):
        if after and not lines[after - 1].endswith("\n"):
            lines[after - 1] += "\n"
        lines.insert(after, line)
    for after, _, insert in sorted(additions, key=lambda a: a[0]):
        changes.append(f"after line {after}: added {insert.key}: {_yaml(insert.value)} ({insert.why})")
    new_text = "".join(lines)
    new_text, note = _modeline(new_text, path, declared.written)
    changes.insert(0, note)
    result = Migrated(file, declared.version, new_text, changes)
    try:  # the rewrite must mean what validate reads from the old text
        same = load_document(new_text, file).data == migrated.data
    except YamlProblem:
        same = False
    if not same:
        hint = "the file's layout is one migrate cannot rewrite; make the changes below by hand"
        message = f"cannot rewrite it for format {CURRENT} faithfully"
        result.problems.append(Problem(file, 1, 1, "", message, hint, code=Code.VERSION))
        result.problems += [_by_hand(file, doc, insert) for _, _, insert in additions]
        result.text = text
    return result


def _insertion(doc: Document, lines: list[str], insert: Insert) -> tuple[int, str] | None:
    """Where a new key goes in a block mapping: (the line it follows, the new line) - after ``kind`` when
    that is a one-line key of its own, else before the first key. None when the mapping's keys are not
    written on lines of their own (a flow mapping)."""
    owner = doc.keys.get(insert.path)
    if owner is None:
        return None

    def own_line(path: tuple) -> bool:
        line, col = doc.keys[path]
        return line > owner[0] and not lines[line - 1][: col - 1].strip()

    depth = len(insert.path) + 1
    children = [p for p in doc.keys if len(p) == depth and p[:-1] == insert.path and own_line(p)]
    if not children:
        return None
    kind = (*insert.path, "kind")
    line, col = doc.keys[min(children, key=lambda p: doc.keys[p])]
    after = line - 1
    if kind in children and doc.values.get(kind, doc.keys[kind])[0] == doc.keys[kind][0]:
        line, col = doc.keys[kind]
        after = line
    return after, f"{' ' * (col - 1)}{insert.key}: {_yaml(insert.value)}\n"


def _by_hand(file: str, doc: Document, insert: Insert) -> Problem:
    line, col = doc.position(insert.path)
    message = f"add '{insert.key}: {_yaml(insert.value)}' here for format {CURRENT}"
    return Problem(file, line, col, field_path(insert.path), message, insert.why, code=Code.VERSION)


def _modeline(text: str, path: Path, written: bool) -> tuple[str, str]:
    """``text`` with a modeline naming the current version's schema, and a note saying what changed."""
    found = MODELINE.search(text)
    if found is None:
        url = _url_for(path)
        return f"# yaml-language-server: $schema={url}\n{text}", f"line 1: added the modeline ({url})"
    head, tail = found.group("url").rpartition("/")[0], SCHEMA_FILE
    if written:  # .../<old version>/<file>: the version folder changes
        head = head.rpartition("/")[0]
    url = f"{head}/{CURRENT}/{tail}" if head else f"{CURRENT}/{tail}"
    line = text.count("\n", 0, found.start()) + 1
    return text[: found.start("url")] + url + text[found.end("url") :], f"line {line}: $schema={url}"


def _url_for(path: Path) -> str:
    """The current version's schema, relative to the folder of ``path`` (the project's schemas/)."""
    schemas = project_root() / "schemas"
    folder = os.path.relpath(schemas, path.resolve().parent).replace(os.sep, "/")
    return f"{folder}/{CURRENT}/{SCHEMA_FILE}"


def _yaml(value: object) -> str:
    return json.dumps(value)  # true, false, numbers and double-quoted strings: YAML as well as JSON


def files_of(specs: list[str]) -> list[Path]:
    """The pipeline files named (folders: their *.yaml and *.yml files); default: pipelines/."""
    if not specs:
        specs = [str(pipelines_dir())]
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return found


def run(specs: list[str], check: bool = False) -> int:
    """``sagemaker-pipelines migrate [--check] [FILES]``: rewrite (or, check, name) every file not in the
    current version. Exit 1 when a file could not be read or rewritten, or (check) is not current."""
    failed = stale = 0
    for path in files_of(specs):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{display_path(path)}: cannot read the file: {exc}", file=sys.stderr)
            failed += 1
            continue
        result = migrate_text(text, path)
        if result.problems:
            for problem in result.problems:
                print(problem.format(), file=sys.stderr)
            failed += 1
            continue
        if result.current:
            continue
        stale += 1
        if check:
            print(
                f"{result.file}: written for format {result.version}, not {CURRENT}: run 'make migrate'",
                file=sys.stderr,
            )
            continue
        path.write_text(result.text, encoding="utf-8")
        print(f"{result.file}: format {result.version} -> {CURRENT}")
        for change in result.changes:
            print(f"  {change}")
    if not failed and not stale:
        print(f"every file is written for format {CURRENT}")
    return 1 if failed or (check and stale) else 0
