"""What people write in YAML, as opposed to how it is parsed: limits on the raw text, number forms that
YAML versions read differently, and hints for syntax errors.

Number forms: PyYAML follows YAML 1.1, where ``010`` is the octal number 8, ``1:20`` the base-60 number 80,
``yes``/``on`` are true and ``1_000`` is 1000; editors and most other tools follow YAML 1.2, where the first
is 10 and the others are text. ``instance_count: 1:20`` silently meant 80 instances and the hyperparameter
``k: 010`` reached the job as ``"8"``. So each such form is a problem with the value to write instead;
quoting keeps it as text. Hexadecimal and binary numbers are refused too (no job field wants them, and
``0x10`` read as 16 surprises as much), and so are non-finite numbers (``.inf``, ``.nan``, ``1e999``),
which no SageMaker field accepts.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from sagemaker_pipelines.problems import Code, Problem

MAX_TEXT_CHARS = 1_048_576  # one pipeline; the largest real ones (hundreds of tasks) are far below
YAML_KEY_LIMIT = 1024  # YAML's own limit on a key written without '?'

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_constructor = yaml.SafeLoader("")  # only its construct_yaml_* methods are used, never its parser

Surprise = tuple[str, str] | None  # (message, hint) when a form is refused


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_text_limits(text: str, file: str) -> Problem | None:
    """What must be refused before any parser sees the text: too much of it, or binary data."""
    if len(text) > MAX_TEXT_CHARS:
        line, col = _line_col(text, MAX_TEXT_CHARS)
        message = (
            f"the file has {len(text):,} characters; a pipeline file may have at most {MAX_TEXT_CHARS:,}"
        )
        hint = "the limit is crossed here; keep large text or data in files under include/"
        return Problem(file, line, col, "", message, hint, code=Code.YAML)
    nul = text.find("\x00")
    if nul >= 0:
        line, col = _line_col(text, nul)
        message = "a NUL byte: this is a binary file, not YAML text"
        return Problem(file, line, col, "", message, "pipelines are UTF-8 text files", code=Code.YAML)
    return None


def too_long(text: str, event: yaml.Event, length: int, limit: int) -> tuple[str, str]:
    """(message, hint) for a scalar over the length limit; a plain one followed by ':' was meant as a key."""
    end = event.end_mark.index
    if text[end : end + 64].lstrip(" ").startswith(":"):
        message = f"a key of {length:,} characters; YAML allows at most {YAML_KEY_LIMIT} in a key"
        return message, "is a value written where a key belongs?"
    message = f"a value of {length:,} characters; values are at most {limit:,}"
    return message, "keep long text in a file under include/ or in the docs"


def _json(value: Any) -> str:
    return "true" if value is True else "false" if value is False else repr(value)


def constructed(tag: str, text: str) -> tuple[Any, Surprise]:
    """The value YAML 1.1 gives a plain int, float or bool scalar, and why it is refused, if it is."""
    if tag == _BOOL:
        value = text.lower() in ("yes", "true", "on")
        if text.lower() in ("true", "false"):
            return value, None
        message = f"'{text}' is {_json(value)} in YAML 1.1 but the text '{text}' in YAML 1.2 (editors)"
        return value, (message, f"write {_json(value)}, or quote it ('{text}') if you mean text")
    node = yaml.ScalarNode(tag, text)
    if tag == _INT:
        value = _constructor.construct_yaml_int(node)
        return value, _int_surprise(text, value)
    value = _constructor.construct_yaml_float(node)
    if ":" in text:
        return value, _base60(text, value)
    if not math.isfinite(value):
        what = "not a number" if math.isnan(value) else "infinite"
        message = f"'{text}' is {what}; no job field takes a non-finite number"
        return value, (message, f"write a finite number, or quote it ('{text}') if you mean text")
    if "_" in text:
        return value, _underscores(text, value)
    return value, None


def _int_surprise(text: str, value: int) -> Surprise:
    digits = text.lstrip("+-")
    if ":" in text:
        return _base60(text, value)
    if digits[:2].lower() in ("0x", "0b"):
        base = "hexadecimal" if digits[1] in "xX" else "binary"
        message = f"'{text}' is the {base} number {value}"
        return message, f"write {value}, or quote it ('{text}') if you mean text"
    if len(digits) > 1 and digits[0] == "0":
        decimal = int(text.replace("_", ""), 10)
        message = f"'{text}' is the octal number {value} in YAML 1.1 but {decimal} in YAML 1.2 (editors)"
        return message, f"write {decimal} (or {value}), or quote it ('{text}') if you mean text"
    if "_" in text:
        return _underscores(text, value)
    return None


def _base60(text: str, value: float) -> Surprise:
    message = f"'{text}' is the base-60 number {value} in YAML 1.1 but text in YAML 1.2 (editors)"
    return message, f"write {value}, or quote it ('{text}') if you mean text (a time, a ratio)"


def _underscores(text: str, value: float) -> Surprise:
    message = f"'{text}' is the number {value} in YAML 1.1 but text in YAML 1.2 (editors)"
    return message, f"write {value}, or quote it ('{text}') if you mean text"


_CLOSERS = {"a flow sequence": "']'", "a flow mapping": "'}'", "a quoted scalar": "closing quote"}


def syntax_problem(text: str, file: str, exc: yaml.MarkedYAMLError) -> Problem:
    """A parser error as a located problem with a hint."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = exc.problem or str(exc)
    if exc.context:
        message = f"{exc.context}, {message}"
    hint = syntax_hint(text, exc, line, col)
    return Problem(file, line, col, "", f"YAML syntax error: {message}", hint, code=Code.YAML)


def syntax_hint(text: str, exc: yaml.MarkedYAMLError, line: int, col: int) -> str:
    """What usually causes a syntax error: a tab, an unclosed bracket or quote, a misaligned key, a value
    that starts with a YAML indicator (an unquoted cron ``*/5 * * * *``), a key too long for YAML."""
    lines = text.splitlines()
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    found = current[col - 1 : col]
    if found == "\t":
        return "YAML does not allow tab characters for indentation; indent with spaces"
    if found in ("{", "}") and "flow" in (exc.context or ""):
        return "inside [ ] or { }, quote a value that holds '{' or '}', like \"${s3.input}/x\""
    if exc.context == "expected a single document in the stream":
        return "a pipeline file holds one YAML document: remove the '---' line and what it separates"
    start = exc.context_mark
    if exc.context == "while scanning an alias" and start is not None:
        value = current[start.column :].strip()
        return f"a value that starts with '*' is read as a YAML alias: quote it, like '{value}'"
    if "cannot start any token" in (exc.problem or "") and found in "@`%":
        value = current[col - 1 :].strip()
        return f"'{found}' cannot start a value: quote it, like '{value}'"
    key = current[: col - 1].rsplit(": ", 1)[-1].lstrip(" -")
    if len(key) > YAML_KEY_LIMIT and ("mapping values" in (exc.problem or "") or "simple key" in str(exc)):
        return (
            f"this key has {len(key):,} characters and YAML allows at most {YAML_KEY_LIMIT} in a key: "
            "is a value written where a key belongs?"
        )
    mark = exc.context_mark
    if not exc.context or mark is None or (mark.line + 1, mark.column + 1) == (line, col):
        return ""
    opened = exc.context.removeprefix("while parsing ").removeprefix("while scanning ")
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if opened in _CLOSERS:
        return f"is a {_CLOSERS[opened]} missing? {opened} starts at {where}"
    if opened.startswith("a block"):
        return f"check the indentation: {opened} starts at {where}"
    return f"{opened} starts at {where}"
