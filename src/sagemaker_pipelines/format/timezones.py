"""The pipeline's ``timezone:``: a name of the IANA tz database that Airflow's pendulum reads.

Checked by asking pendulum itself (what the DAG builder will call), so a name this installation's tz
data lacks is refused here rather than as an import error in Airflow; a near miss gets a did-you-mean
over the names that database has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

from sagemaker_pipelines.format.schema_check import did_you_mean


@cache
def _known() -> tuple[str, ...]:
    import pendulum

    return tuple(sorted(pendulum.timezones()))


def is_timezone(name: str) -> bool:
    """True when pendulum (and so Airflow) knows the zone ``name``."""
    import pendulum

    try:
        pendulum.timezone(name)
    except (ValueError, OSError):  # InvalidTimezone is a ValueError
        return False
    return True


def zone_of(data: dict[str, Any]) -> dt.tzinfo:
    """The zone of dates written without an offset: the pipeline's known ``timezone``, else UTC."""
    name = data.get("timezone")
    if isinstance(name, str) and is_timezone(name):
        import pendulum

        return pendulum.timezone(name)
    return dt.UTC


def check_timezone(data: dict[str, Any], add: Callable[..., None]) -> None:
    """A ``timezone:`` that is not a tz database name is a problem at its value, with the nearest name."""
    name = data.get("timezone")
    if not isinstance(name, str) or is_timezone(name):
        return
    hint = did_you_mean(name, _known()) or "an IANA name like Europe/Berlin, America/New_York or UTC"
    add(("timezone",), f"'{name}' is not a time zone of the IANA tz database", hint, value=True)
