"""Validate a document against a JSON Schema and turn each failure into a located, helpful Problem.

jsonschema's own messages are written for schema authors ("'x' does not match '^s3://...'"); a data
scientist needs "found 'x', expected an S3 URI like s3://bucket/prefix" and, for a typo, the key they
meant. The wording comes from the schema itself (``title`` of the failing subschema), so the schema stays
the one source of what is allowed.

Most documents are valid, and a valid one needs no messages: it is answered by ``schema_validity.py``,
the schema compiled to plain Python at ``make schemas`` time, while the schema file on disk is the one it
was compiled from. Only a document it refuses takes jsonschema's error-collecting pass (and a schema
file that is not the compiled one is validated by jsonschema alone, reporting a broken file as before).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.paths import PACKAGE_DIR, display_path, schemas_dir
from sagemaker_pipelines.problems import Code, PipelineInvalid, Problem, field_path

if TYPE_CHECKING:
    import jsonschema
    from jsonschema import Draft202012Validator

# The generated module that answers "valid?" without jsonschema (toolkit/generators/validity_code.py).
VALIDITY_PATH = PACKAGE_DIR / "format" / "schema_validity.py"


@cache
def load_schema(name: str) -> dict:
    """``pipeline`` or ``environment``: the parsed schema file.

    A schema file that is missing, truncated or edited into invalid JSON is a PipelineInvalid naming it
    (with line and column), which every caller reports as a problem, never a traceback.
    """
    path = schemas_dir() / f"{name}.schema.json"
    shown = display_path(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read the {name} schema: {getattr(exc, 'strerror', None) or exc}"
        raise PipelineInvalid([Problem(shown, message=message, code=Code.SCHEMA_FILE)]) from None
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        message = f"the {name} schema is not valid JSON: {getattr(exc, 'msg', exc)}"
        hint = "the file is truncated or was edited by hand; reinstall the package or restore it from git"
        raise PipelineInvalid([Problem(shown, line, col, "", message, hint, code=Code.SCHEMA_FILE)]) from None
    if not isinstance(schema, dict):
        message = f"the {name} schema is not a JSON object"
        raise PipelineInvalid([Problem(shown, 1, 1, "", message, code=Code.SCHEMA_FILE)])
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def _compiled_validity(name: str) -> Callable[[Any], bool] | None:
    """The generated "valid?" function of schema ``name`` while its file is the one it was compiled from
    (same SHA-256), else None: an edited or broken schema file is judged by jsonschema, which reports it.
    The file is hashed once per process and version of it (a stat tells a rewritten file)."""
    path = schema_path(name)
    try:
        stat = path.stat()
    except OSError:
        return None
    return _compiled_for(path, stat.st_mtime_ns, stat.st_size, name)


@cache
def _compiled_for(path: Path, _mtime_ns: int, _size: int, name: str) -> Callable[[Any], bool] | None:
    from sagemaker_pipelines.format import schema_validity

    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return schema_validity.VALID[name] if schema_validity.DIGESTS.get(name) == digest else None


@cache
def _task_validators() -> tuple[Draft202012Validator, dict[str, Draft202012Validator]]:
    """The pipeline schema split at the task: a validator for everything but the tasks' kind-specific
    fields, and one validator per kind (the ``then`` of each ``if kind == ...`` branch).

    Same schema, same answers; but each task is checked against its own kind only, instead of
    evaluating every kind's ``if`` for every task (that was 70% of validation time).
    """
    from jsonschema import Draft202012Validator

    schema = load_schema("pipeline")
    task = schema["$defs"]["task"]
    shallow = {
        **schema,
        "$defs": {**schema["$defs"], "task": {k: v for k, v in task.items() if k != "allOf"}},
    }
    per_kind = {
        branch["if"]["properties"]["kind"]["const"]: Draft202012Validator(
            {"$defs": schema["$defs"], "$ref": branch["then"]["$ref"]}
        )
        for branch in task["allOf"]
    }
    return Draft202012Validator(shallow), per_kind


def _schema_errors(name: str, data: Any) -> Iterator[tuple[tuple, jsonschema.ValidationError]]:
    """(path prefix, error) for every failure of ``data``."""
    if name != "pipeline":
        yield from (((), e) for e in validator(name).iter_errors(data))
        return
    top, per_kind = _task_validators()
    yield from (((), e) for e in top.iter_errors(data))
    tasks = data.get("tasks") if isinstance(data, dict) else None
    for task_id, task in (tasks or {}).items() if isinstance(tasks, dict) else ():
        kind = task.get("kind") if isinstance(task, dict) else None
        if isinstance(kind, str) and kind in per_kind:
            yield from ((("tasks", task_id), e) for e in per_kind[kind].iter_errors(task))


def did_you_mean(word: Any, choices: list[str] | tuple[str, ...]) -> str:
    if not isinstance(word, str):
        return ""
    import difflib  # only a problem has a word to match: a valid pipeline never imports it

    matches = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    if not matches:
        lowered = {str(c).lower(): str(c) for c in choices}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"did you mean '{matches[0]}'?" if matches else ""


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_list(values: list) -> str:
    shown = ", ".join(str(v) if v is not None else "null" for v in values[:12])
    return shown + (f", ... ({len(values)} in all)" if len(values) > 12 else "")


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _type_words(expected: Any) -> str:
    if expected is None:
        return ""
    types = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(t, str(t)) for t in types)


def _branch_words(branch: dict, root: dict) -> str:
    """How to name one oneOf/anyOf branch: its title, the title of what it refers to, or its type."""
    ref = branch.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        branch = {**target, **{k: v for k, v in branch.items() if k != "$ref"}}
    return branch.get("title") or _type_words(branch.get("type"))


def _found(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return _short(value)


def _branch_kind(error: jsonschema.ValidationError) -> str:
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    return f" of {title}" if title else ""


def _explain(
    error: jsonschema.ValidationError, root: dict | None = None, outer_title: str | None = None
) -> tuple[tuple, str, str]:
    """(path, message, hint) for one jsonschema error.

    ``root`` is the whole schema (for the titles of ``$ref`` branches); ``outer_title`` names what the
    enclosing oneOf/anyOf expects, for a branch error whose own schema has no title.
    """
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    title = schema.get("title")
    kind = error.validator
    if len(error.schema_path) >= 2 and error.schema_path[-2] == "propertyNames" and isinstance(value, str):
        path = (*path, value)  # a bad key: jsonschema gives the mapping's path, point at the key itself
    if kind == "additionalProperties":  # _explain_all makes one problem per unknown key
        return _unknown_key(path, (_extra_keys(error) or ["?"])[0], schema)
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = f" {title}" if title else ""
        return path, f"missing required field '{missing}'" + (f" for{where}" if where else ""), ""
    if kind in ("enum", "const"):
        allowed = schema["enum"] if kind == "enum" else [schema["const"]]
        # A long list says less than its title ("a SageMaker training instance type"); did-you-mean helps.
        expected = title if title and len(allowed) > 12 else f"one of: {_allowed_list(allowed)}"
        return path, f"found {_found(value)}, expected {expected}", did_you_mean(value, allowed)
    if kind == "type":
        quote = (
            isinstance(value, int | float) and not isinstance(value, bool) and schema.get("type") == "string"
        )
        hint = "put it in quotes: YAML reads it as a number" if quote else ""
        return path, f"found {_found(value)}, expected {_type_words(schema.get('type'))}", hint
    if kind == "pattern":
        expected = title or outer_title or f"a string matching {schema['pattern']}"
        return path, f"found {_found(value)}, expected {expected}", ""
    if kind == "maxLength":
        return path, f"{_found(value)} is {len(value)} characters, at most {schema['maxLength']} allowed", ""
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return path, f"found {_found(value)}, must be {error.message.split(' is ', 1)[-1]}", ""
    if kind == "propertyNames":
        bad = error.instance if not isinstance(error.instance, dict) else "?"
        return path, f"invalid name {_found(bad)}", ""
    if kind == "not":
        return path, f"{_found(value)} is not allowed here", ""
    if kind in ("oneOf", "anyOf"):
        # Prefer the message of the branch whose type matches: it is the specific one.
        specific = _best_context(error)
        if specific is not None:
            return _explain(specific, root, title or outer_title)
        options = [_branch_words(s, root or {}) for s in schema.get(kind, []) if isinstance(s, dict)]
        options = [o for o in options if o]
        return path, f"found {_found(value)}, expected {' or '.join(options) or 'another form'}", ""
    if kind in ("minProperties", "minItems"):
        return path, "must not be empty", ""
    if kind == "uniqueItems":
        return path, "has duplicate entries", ""
    return path, error.message, ""


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    """The keys of a mapping its schema does not allow, in the file's order."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]


def _unknown_key(path: tuple, key: str, schema: dict) -> tuple[tuple, str, str]:
    allowed = sorted(schema.get("properties", {}))
    hint = did_you_mean(key, allowed) or (f"allowed: {_allowed_list(allowed)}" if allowed else "")
    where = f" in {schema['title']}" if schema.get("title") else ""
    return (*path, key), f"unknown field '{key}'{where}", hint


def _explain_all(error: jsonschema.ValidationError, root: dict) -> list[tuple[tuple, str, str]]:
    """Every (path, message, hint) one error stands for: jsonschema reports all the unknown keys of a
    mapping as one error, and each of them is a typo of its own to show where it is."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        path = tuple(error.absolute_path)
        schema = error.schema if isinstance(error.schema, dict) else {}
        keys = _extra_keys(error)
        if keys:
            return [_unknown_key(path, key, schema) for key in keys]
    return [_explain(error, root)]


def _best_context(error: jsonschema.ValidationError) -> jsonschema.ValidationError | None:
    """Inside a oneOf, the error of the branch whose type matched the value, if exactly one did."""
    by_branch: dict[int, list] = {}
    for sub in error.context or []:
        by_branch.setdefault(sub.schema_path[0] if sub.schema_path else -1, []).append(sub)
    type_ok = [errs for errs in by_branch.values() if not any(e.validator == "type" for e in errs)]
    if len(type_ok) == 1:
        return type_ok[0][0]
    # Several mappings: the branch whose required fields are all there is the one meant.
    complete = [errs for errs in type_ok if not any(e.validator == "required" for e in errs)]
    if len(complete) == 1:
        return complete[0][0]
    # None complete: the branch that requires a key the mapping has (``{s3_events: ...}`` without its
    # ``queue``) is the one meant, and its missing field is the news.
    claimed = [errs for errs in type_ok if any(_claims(e) for e in errs)]
    if len(claimed) == 1:
        return next(e for e in claimed[0] if e.validator == "required")
    return None


def _claims(error: jsonschema.ValidationError) -> bool:
    """A missing-field error of a branch that requires some key the mapping does have."""
    if error.validator != "required" or not isinstance(error.instance, dict):
        return False
    return bool(set(error.schema.get("required", ())) & set(error.instance))


def _flatten(errors) -> list[jsonschema.ValidationError]:
    """Expand allOf/if-then wrappers so each leaf failure is reported on its own."""
    out = []
    for error in errors:
        if error.validator in ("allOf", "if", "then", "$ref") and error.context:
            out.extend(_flatten(error.context))
        else:
            out.append(error)
    return out


# Failures about a value's form, which a value known only at run time (a task output) cannot be judged by.
_VALUE_VALIDATORS = frozenset(
    {"type", "pattern", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
    | {"minLength", "maxLength", "oneOf", "anyOf", "format", "multipleOf"}
)


def check_against_schema(
    doc: Document,
    file: str,
    schema: str = "pipeline",
    skip: set[tuple] = frozenset(),
    runtime: set[tuple] = frozenset(),
) -> list[Problem]:
    """Every schema failure of ``doc`` as a Problem (all at once, sorted by position). ``skip``: paths
    (and what is below them) already reported; ``runtime``: paths of values known only at run time, whose
    form is not judged (every other rule still is)."""
    compiled = _compiled_validity(schema)
    if compiled is not None and compiled(doc.data):
        return []  # valid: nothing to report, and no error-collecting pass to pay for
    problems = []
    seen = set()
    leaves = [
        (prefix, leaf) for prefix, error in _schema_errors(schema, doc.data) for leaf in _flatten([error])
    ]
    # A value of the wrong type is one mistake: its type is the problem, not also the values it misses.
    mistyped = {(*prefix, *leaf.absolute_path) for prefix, leaf in leaves if leaf.validator == "type"}
    for prefix, leaf in leaves:
        where = (*prefix, *leaf.absolute_path)
        if leaf.validator in ("enum", "const") and where in mistyped:
            continue
        if leaf.validator in _VALUE_VALIDATORS and where in runtime:
            continue
        problems.extend(_problem(doc, file, schema, prefix, leaf, skip, seen))
    return sorted(problems)


def _problem(
    doc: Document, file: str, schema: str, prefix: tuple, error: jsonschema.ValidationError, skip, seen: set
) -> list[Problem]:
    problems = []
    for path, message, hint in _explain_all(error, load_schema(schema)):
        path = (*prefix, *path)
        if any(path[: len(s)] == s for s in skip) or (path, message) in seen:
            continue
        seen.add((path, message))
        line, col = doc.position(path)
        problems.append(Problem(file, line, col, field_path(path), message, hint, code=Code.SCHEMA))
    return problems


def schema_path(name: str) -> Path:
    return schemas_dir() / f"{name}.schema.json"
