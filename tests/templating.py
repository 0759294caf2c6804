"""Rendering compiled templates as Airflow renders them, for tests that check what a task will send.

One place for Airflow's own template environment (sandboxed, ``StrictUndefined``, its filters such as
``ts_nodash``) and for the run context a test stands in for: tests compare rendered requests, so they
must render with what Airflow uses, not with a plain Jinja environment that would forgive a typo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any


def airflow_jinja() -> Any:
    """Airflow's template environment, as a task's templated fields are rendered with."""
    from airflow.sdk.definitions._internal.templater import create_template_env

    return create_template_env()


def run_context(
    run_after: dt.datetime,
    try_number: int = 1,
    xcom: Callable[..., Any] | dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The parts of a task's context that compiled templates read: ``dag_run.run_after``, ``ti.try_number``
    and ``ti.xcom_pull`` (from a dict of task id -> returned value, or a function), plus ``extra``."""
    pull = (lambda task_ids, **_: xcom[task_ids]) if isinstance(xcom, dict) else xcom
    ti = SimpleNamespace(try_number=try_number, xcom_pull=pull)
    return {"dag_run": SimpleNamespace(run_after=run_after), "ti": ti, **extra}


def operator_class(dotted: str) -> type:
    """The operator class a compiled task names (``module.Class``), to read its ``template_fields``."""
    module, _, name = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def render_all(jinja: Any, value: Any, context: dict[str, Any]) -> Any:
    """``value`` with every template string in it rendered, through dicts and lists."""
    if isinstance(value, str):
        return jinja.from_string(value).render(**context) if "{{" in value else value
    if isinstance(value, dict):
        return {k: render_all(jinja, v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_all(jinja, v, context) for v in value]
    return value
