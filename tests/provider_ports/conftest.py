"""The ports of the Amazon provider's SageMaker system tests: their folders, and each port compiled and
its operators constructed as Airflow would run them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests import templating

from . import PORT_ENV

RUN_AFTER = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)  # the originals' start_date, a run of their @once
RUN_SUFFIX = "-20210101T000000-1"  # what our names append for that run's first try


@pytest.fixture
def port_folders(monkeypatch):
    """Point the checker at the ports' include folder, as `make run` does with PORT_ENV."""
    for name, value in PORT_ENV.items():
        monkeypatch.setenv(name, value)


def run_context(xcom: dict[str, Any]) -> dict[str, Any]:
    """A task's Jinja context for one run: the returned values of upstream tasks by task id."""
    return templating.run_context(RUN_AFTER, xcom=xcom, params={})
