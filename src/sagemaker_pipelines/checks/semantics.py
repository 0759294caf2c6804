"""Checks the schema cannot express: dates and schedules, run parameters' defaults against their own
declarations (:mod:`.param_defaults`), the task graph, cross-task references and files under include/.
(Secrets are :mod:`.secrets`.)

Nothing here recurses over the pipeline: a 1,200-task chain written downstream-first is as easy to
check as a short one.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from sagemaker_pipelines.checks.fan_out import check as fan_out_check
from sagemaker_pipelines.checks.param_defaults import check_param_defaults
from sagemaker_pipelines.checks.task_groups import check_task_groups, group_names
from sagemaker_pipelines.compile.dependencies import dependencies_of
from sagemaker_pipelines.compile.kinds import ALIASES, KINDS, notebooks
from sagemaker_pipelines.format.schema_check import did_you_mean
from sagemaker_pipelines.format.timezones import check_timezone, zone_of
from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.paths import include_dir, include_path
from sagemaker_pipelines.problems import Code, Problem, field_path


class _Checker:
    """The checks, on the parts of the document whose shapes the schema accepted: on a document it
    rejected, a check whose fields (or task) it reported is not run, so the others still report theirs
    and no check meets a shape it was not written for. Nothing is caught: a check that fails on an
    accepted shape is a bug, reported as one (``checker.py``)."""

    def __init__(self, doc: Document, file: str, data: dict[str, Any], rejected: Iterable[str]):
        self.doc = doc
        self.file = file
        self.data = data
        tasks = data.get("tasks")
        self.tasks: dict[str, dict] = tasks if isinstance(tasks, dict) else {}
        self.rejected_fields: set[str] = set()  # top-level fields the schema reported
        self.rejected_tasks: set[str] = set()  # tasks the schema reported something in
        for dotted in rejected:
            parts = re.split(r"[.\[]", dotted)
            if parts[0] == "tasks" and len(parts) > 1 and parts[1] in self.tasks:
                self.rejected_tasks.add(parts[1])
            else:
                self.rejected_fields.add(parts[0])
        # the tasks whose shapes the schema accepted
        self.checked = {t: task for t, task in self.tasks.items() if t not in self.rejected_tasks}
        self.problems: list[Problem] = []

    def accepted(self, *fields: str) -> bool:
        return not self.rejected_fields & set(fields)

    def add(
        self, path: tuple, message: str, hint: str = "", code: str = Code.SEMANTICS, value: bool = False
    ) -> None:
        line, col = self.doc.value_position(path) if value else self.doc.position(path)
        self.problems.append(Problem(self.file, line, col, field_path(path), message, hint, code=code))

    def run(self) -> list[Problem]:
        if self.accepted("start_date", "end_date", "timezone"):
            self.dates()
        if self.accepted("schedule", "timezone"):
            self.schedule()
        if self.accepted("schedule", "max_active_runs"):
            self.continuous_runs()
        if self.accepted("params"):
            check_param_defaults(self.data, self.add)
        if not self.accepted("", "tasks"):  # the document or its task mapping has the wrong shape
            return self.problems
        for task_id, task in self.checked.items():
            kind = task.get("kind") if isinstance(task, dict) else None
            if not isinstance(kind, str) or kind not in {*KINDS, *ALIASES}:
                continue  # the schema reports it
            for check in (
                self.dependencies,
                self.references,
                self.branches,
                self.exclusive_fields,
                self.include_files,
                self.yes_no,
            ):
                check(task_id, task)
        self.cycles()
        if self.accepted("task_groups"):
            self.task_groups()  # checks/task_groups.py
        if self.accepted("timezone", "start_date", "end_date"):
            check_timezone(self.data, self.add)
        if not self.rejected_tasks:
            self.fan_out()
        return self.problems

    def dates(self) -> None:
        """The schema checks a date's shape; only parsing finds 2021-02-30 (Airflow would reject it)."""
        parsed = {}
        for name in ("start_date", "end_date"):
            text = self.data.get(name)
            if not isinstance(text, str):
                continue
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                self.add((name,), f"'{text}' is not a real date: {exc}", "e.g. 2021-07-31", value=True)
                continue
            parsed[name] = value if value.tzinfo else value.replace(tzinfo=zone_of(self.data))
        if len(parsed) == 2 and parsed["end_date"] < parsed["start_date"]:
            self.add(("end_date",), "end_date is before start_date", value=True)

    def schedule(self) -> None:
        """The schema checks a cron's shape; Airflow's own parser (croniter) finds values out of range."""
        cron, path = self.data.get("schedule"), ("schedule",)
        if isinstance(cron, dict) and "cron" in cron:  # a time schedule combined with assets
            cron, path = cron["cron"], ("schedule", "cron")
        if not isinstance(cron, str) or cron.startswith("@") or cron == "none":
            return
        from croniter import CroniterBadCronError, CroniterBadDateError, croniter

        try:
            schedule = croniter(cron, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        except (CroniterBadCronError, CroniterBadDateError) as exc:
            hint = "fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-6)"
            self.add(path, f"'{cron}' is not a valid cron expression: {exc}", hint, value=True)
            return
        try:  # a valid expression may still name no real date, like February 31st: the DAG would never run
            schedule.get_next(dt.datetime)
        except CroniterBadDateError:
            hint = "check day-of-month against the month: February has 28 or 29 days, April, June, September "
            hint += "and November 30"
            self.add(path, f"'{cron}' never fires: no date matches it", hint, value=True)

    def continuous_runs(self) -> None:
        """Airflow refuses to build a @continuous DAG allowed more than one active run at a time."""
        runs = self.data.get("max_active_runs")
        if self.data.get("schedule") == "@continuous" and isinstance(runs, int) and runs > 1:
            hint = "a @continuous schedule starts the next run when the last ends: leave max_active_runs out"
            self.add(
                ("max_active_runs",), "a @continuous schedule allows max_active_runs 1 only", hint, value=True
            )

    def dependencies(self, task_id: str, task: dict) -> None:
        groups = group_names(self.data)  # depends_on may name a task group: checks/task_groups.py
        for i, dep in enumerate(task.get("depends_on") or []):
            path = ("tasks", task_id, "depends_on", i)
            if dep == task_id:
                self.add(path, f"task '{task_id}' depends on itself", value=True)
            elif dep not in self.tasks and dep not in groups:
                hint = did_you_mean(dep, [*self.tasks, *groups]) or f"tasks: {', '.join(self.tasks)}"
                what = "task or task group" if groups else "task"
                self.add(path, f"depends on unknown {what} '{dep}'", hint, value=True)

    def references(self, task_id: str, task: dict) -> None:
        kind = KINDS.get(task["kind"])
        for field, allowed in (kind.references if kind else {}).items():
            target = task.get(field)
            if target is None:
                continue
            path = ("tasks", task_id, field)
            if target not in self.tasks:
                hint = did_you_mean(target, list(self.tasks)) or f"tasks: {', '.join(self.tasks)}"
                self.add(path, f"names unknown task '{target}'", hint, value=True)
            elif target == task_id:
                self.add(path, "a task cannot refer to itself", value=True)
            elif (found := _kind_of(self.tasks[target])) is None and target in self.rejected_tasks:
                continue  # it has no kind to judge: the schema reported that task
            elif found not in allowed:
                expected = _a(" or ".join(allowed))
                self.add(path, f"'{target}' is {_a(found)} task, expected {expected} task", value=True)

    def branches(self, task_id: str, task: dict) -> None:
        """A gate's if/else tasks exist, are other tasks, and each is in one branch only."""
        if task["kind"] != "condition":
            return
        seen: dict[str, str] = {}
        for key in ("if", "else"):
            for i, target in enumerate(task.get(key) or []):
                path = ("tasks", task_id, key, i)
                if target == task_id:
                    self.add(path, "a gate cannot branch to itself", value=True)
                elif target not in self.tasks:
                    hint = did_you_mean(target, list(self.tasks)) or f"tasks: {', '.join(self.tasks)}"
                    self.add(path, f"branches to unknown task '{target}'", hint, value=True)
                elif target in seen:
                    self.add(path, f"'{target}' is in the {seen[target]} branch already", value=True)
                seen.setdefault(target, key)

    def exclusive_fields(self, task_id: str, task: dict) -> None:
        kind = KINDS.get(task["kind"])
        base = ("tasks", task_id)
        if task.get("teardown") and "trigger_rule" in task:
            self.add(
                (*base, "trigger_rule"),
                "a teardown task takes no trigger_rule: it runs once its upstream tasks are done",
                "Airflow gives teardowns all_done_setup_success",
            )
        for group in kind.one_of if kind else ():
            given = [f for f in group if f in task]
            if len(given) != 1:
                what = "one of" if not given else "only one of"
                self.add(
                    base,
                    f"{_a(task['kind'])} task needs {what}: {', '.join(group)}",
                    f"found {', '.join(given)}" if given else "",
                )
        if "entry_point" in task and "framework" not in task and task["kind"] in ("training", "tuning"):
            self.add(base, "script mode (entry_point) needs a framework", "e.g. framework: sklearn")
        if "framework" in task and "entry_point" not in task:
            self.add((*base, "framework"), "framework is only used with entry_point (script mode)")
        if task["kind"] == "model" and "image" in task and "model_data" not in task:
            self.add(base, "a model with an image needs model_data (the model.tar.gz to serve)")
        if task["kind"] == "processing" and "command" in task and "image" not in task:
            self.add((*base, "command"), "command is only used with a custom image")
        if task["kind"] == "processing":
            for name, spec in (task.get("reports") or {}).items():
                outputs = task.get("outputs") or {}
                if spec.get("output") not in outputs:
                    hint = (
                        did_you_mean(spec.get("output"), list(outputs))
                        or f"outputs: {', '.join(outputs) or 'none'}"
                    )
                    self.add(
                        (*base, "reports", name, "output"),
                        f"no output '{spec.get('output')}'",
                        hint,
                        value=True,
                    )
            if task.get("reports") and task.get("wait_for_completion") is False:
                self.add(
                    (*base, "reports"), "reports are read when the job ends: they need wait_for_completion"
                )
        if task["kind"] == "studio_notebook" and (error := notebooks.studio_execution_name_error(task_id)):
            self.add(base, error, f"'{task_id}' is {len(task_id)} characters")
        if task["kind"] == "tuning":
            for name, spec in (task.get("ranges") or {}).items():
                path = (*base, "ranges", name)
                if spec.get("type") == "categorical" and "values" not in spec:
                    self.add(path, "a categorical range needs values")
                elif spec.get("type") in ("integer", "continuous"):
                    if "min" not in spec or "max" not in spec:
                        self.add(path, f"{_a(spec['type'])} range needs min and max")
                    elif _numbers(spec["min"], spec["max"]) and spec["min"] > spec["max"]:
                        self.add(path, f"min ({spec['min']}) is greater than max ({spec['max']})")

    def yes_no(self, task_id: str, task: dict) -> None:
        """An unquoted y/n hyperparameter: this loader passes the text, YAML 1.1 tools read a boolean."""
        for name, value in (task.get("hyperparameters") or {}).items():
            path = ("tasks", task_id, "hyperparameters", name)
            if path in self.doc.plain_yes_no:
                message = f"'{value}' is text here but a boolean in YAML 1.1 tools"
                hint = f"quote it ('{value}') to pass the text, or write true or false"
                self.add(path, message, hint, code=Code.YAML, value=True)

    def include_files(self, task_id: str, task: dict) -> None:
        for field in ("callable", "entry_point", "file"):
            value = task.get(field)
            if not isinstance(value, str):
                continue
            path = ("tasks", task_id, field)
            file_part, _, function = value.partition(":") if field == "callable" else (value, "", "")
            target = include_path(file_part)
            if not target.is_relative_to(include_dir()):
                self.add(
                    path,
                    f"'{file_part}' is outside include/",
                    "code and files may only come from include/",
                    code=Code.INCLUDE,
                    value=True,
                )
            elif not target.is_file():
                self.add(path, f"'{file_part}' does not exist", code=Code.INCLUDE, value=True)
            elif function and function not in _top_level_functions(target):
                functions = sorted(_top_level_functions(target))
                hint = did_you_mean(function, functions) or f"functions: {', '.join(functions) or 'none'}"
                self.add(
                    path,
                    f"'{file_part}' defines no function '{function}'",
                    hint,
                    code=Code.INCLUDE,
                    value=True,
                )

    def fan_out(self) -> None:
        """for_each lists and ${item} (compile/fan_out.py)."""
        for path, message, hint in fan_out_check(self.doc.data, self.data):
            self.add(path, message, hint, code=Code.FOR_EACH, value=True)

    def task_graph(self) -> dict[str, list[str]]:
        return {
            t: dependencies_of(t, task, self.tasks)
            for t, task in self.checked.items()
            if isinstance(task, dict)
        }

    def task_groups(self) -> None:
        checked = {**self.data, "tasks": self.checked}  # the groups the accepted tasks name
        check_task_groups(checked, self.checked, self.add, self.task_graph(), find_cycle)

    def cycles(self) -> None:
        cycle = find_cycle(self.task_graph())
        if cycle:
            shown = list(reversed(cycle))
            if len(shown) > 12:  # a cycle through a long chain: its ends say enough
                shown = [*shown[:5], f"... ({len(cycle) - 1} tasks) ...", *shown[-5:]]
            self.add(
                ("tasks", cycle[0]),
                "dependency cycle: " + " -> ".join(shown),
                "a task cannot (indirectly) wait for itself",
            )


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``graph`` (task -> its dependencies) as [a, ..., a], or None.

    Depth-first in file order with an explicit stack, so the first cycle found is the one a reader meets
    first and no chain is too long (Python's recursion limit is about 1,000 calls).
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        pending = [iter(graph.get(root, ()))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                pending.pop()
                state[path.pop()] = 2
            elif state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            elif dep in graph and dep not in state:
                state[dep] = 1
                path.append(dep)
                pending.append(iter(graph[dep]))
    return None


def _a(word: str) -> str:
    """``word`` with its indefinite article: a training task, an endpoint task."""
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


def _top_level_functions(path: Path) -> frozenset[str]:
    """Function names a file defines, read without importing (and so without running) it."""
    try:
        source = path.read_bytes()
    except OSError:
        return frozenset()
    return _functions_in(source, str(path))


@cache
def _functions_in(source: bytes, name: str) -> frozenset[str]:
    """Keyed by content, not modification time: an edit that keeps the mtime is still seen."""
    try:
        tree = ast.parse(source, name)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def _kind_of(task: Any) -> str | None:
    kind = task.get("kind") if isinstance(task, dict) else None
    return kind if isinstance(kind, str) else None


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def check_semantics(
    doc: Document, file: str, data: dict[str, Any], rejected: Iterable[str] = ()
) -> list[Problem]:
    """Problems beyond the schema; ``rejected``: the fields (dotted) whose shapes the schema refused, left
    out with their tasks."""
    return _Checker(doc, file, data, rejected).run()
