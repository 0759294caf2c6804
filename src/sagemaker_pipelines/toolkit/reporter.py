"""Print problems for people (terminal), for programs (JSON) and for GitHub Actions (annotations).

Every command that reports problems goes through here, so a problem reads the same everywhere:
``path:line:col: field.path: message (hint)``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

from sagemaker_pipelines.problems import Problem

FORMATS = ("human", "json", "github")

_RESET = "\033[0m"
_BOLD = "\033[1m"
_RED = "\033[31m"
_GREEN = "\033[32m"
_YELLOW = "\033[33m"
_CYAN = "\033[36m"
_DIM = "\033[2m"


@dataclass
class Summary:
    """What a validation run covered and found."""

    files: int
    environments: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def files_with_problems(self) -> int:
        return len({p.file for p in self.errors})

    @property
    def valid(self) -> bool:
        """Warnings do not make a run invalid: CI shows them and passes."""
        return not self.errors

    def text(self) -> str:
        warned = f", {_count(len(self.warnings), 'warning')}" if self.warnings else ""
        if self.errors:
            return (
                f"{_count(len(self.errors), 'problem')} in {self.files_with_problems} "
                f"of {_count(self.files, 'file')}{warned}"
            )
        envs = self.environments
        where = f"environment {envs[0]}" if len(envs) == 1 else _count(len(envs), "environment")
        noun = "pipeline" if self.files == 1 else "pipelines"
        return f"{self.files} {noun} valid ({where}){warned}"

    def as_dict(self) -> dict:
        return {
            "valid": self.valid,
            "files": self.files,
            "files_with_problems": self.files_with_problems,
            "problems": len(self.errors),
            "warnings": len(self.warnings),
            "environments": self.environments,
            "text": self.text(),
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def use_colour(stream: TextIO) -> bool:
    """ANSI colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def format_problem(problem: Problem, colour: bool = False) -> str:
    """The one-line human form, coloured when asked."""
    if not colour:
        return problem.format()
    text = f"{_BOLD}{problem.location()}{_RESET}: "
    if not problem.is_error:
        text += f"{_YELLOW}{problem.severity}:{_RESET} "
    if problem.field:
        text += f"{_CYAN}{problem.field}{_RESET}: "
    text += f"{_RED if problem.is_error else _YELLOW}{problem.message}{_RESET}"
    if problem.hint:
        text += f" {_YELLOW}({problem.hint}){_RESET}"
    return text


def print_problems(problems: list[Problem], stream: TextIO | None = None) -> None:
    """Problems one per line, for commands other than validate (render, graph, compile, new)."""
    stream = stream or sys.stdout
    colour = use_colour(stream)
    for problem in sorted(problems):
        print(format_problem(problem, colour), file=stream)


def human(summary: Summary, stream: TextIO) -> None:
    colour = use_colour(stream)
    for problem in summary.problems:
        print(format_problem(problem, colour), file=stream)
    line = summary.text()
    if colour:
        line = f"{_BOLD}{_RED if summary.errors else _GREEN}{line}{_RESET}"
    print(line, file=stream)


def as_json(summary: Summary, stream: TextIO) -> None:
    problems = [
        {
            "file": p.file,
            "line": p.line,
            "column": p.column,
            "field": p.field,
            "message": p.message,
            "hint": p.hint,
            "code": p.code,
            "severity": p.severity,
        }
        for p in summary.problems
    ]
    json.dump({"problems": problems, "summary": summary.as_dict()}, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def escape_data(text: str) -> str:
    """A workflow command's message, as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (file, title, ...): also ':' and ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem) -> str:
    """``::error file=F,line=L,col=C,title=T::message (hint)`` (``::warning`` for a warning); GitHub shows
    it on the file's line, and only errors fail the job (validate's exit status)."""
    props = [f"file={escape_property(problem.file)}"]
    if problem.line:
        props.append(f"line={problem.line}")
        if problem.column:
            props.append(f"col={problem.column}")
    if problem.field:
        props.append(f"title={escape_property(problem.field)}")
    message = problem.message + (f" ({problem.hint})" if problem.hint else "")
    return f"::{problem.severity} {','.join(props)}::{escape_data(message)}"


def github(summary: Summary, stream: TextIO) -> None:
    for problem in summary.problems:
        print(github_annotation(problem), file=stream)
    print(summary.text(), file=stream)


def report(summary: Summary, fmt: str = "human", stream: TextIO | None = None) -> None:
    writer = {"human": human, "json": as_json, "github": github}[fmt]
    writer(summary, stream or sys.stdout)
