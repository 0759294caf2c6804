"""Compiled asset schedules and outlets as Airflow objects (``Asset``, ``AssetAll``/``AssetAny`` and
``AssetOrTimeSchedule``).

dag-factory turns a plain list of URIs into assets itself but passes any other schedule through as it
is, and on Airflow 3 it has no form for conditions or for a time schedule combined with assets; so the
objects are made here and handed to it ready.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.assets import ALL, ANY, ASSETS, CRON, watcher


def asset_condition(condition: Any) -> Any:
    """A URI, a list (all of), ``{any: [...]}`` or ``{all: [...]}`` as Airflow's asset objects."""
    from airflow.sdk import Asset, AssetAll, AssetAny

    if isinstance(condition, str):
        return Asset(condition)
    if isinstance(condition, list):
        return AssetAll(*(asset_condition(item) for item in condition))
    if ANY in condition:
        return AssetAny(*(asset_condition(item) for item in condition[ANY]))
    return AssetAll(*(asset_condition(item) for item in condition[ALL]))


def schedule_value(schedule: Any, timezone: str | None = None) -> Any:
    """The DAG's ``schedule`` argument for a compiled schedule (a cron or preset stays text)."""
    if isinstance(schedule, str) and schedule.strip().lower() == "none":
        return None
    if watcher(schedule) is not None:  # events from outside Airflow: airflow/watchers.py
        from sagemaker_pipelines.airflow.watchers import watched_asset

        asset = watched_asset(schedule)
        if CRON not in schedule:
            return [asset]
        return _or_time(schedule[CRON], asset, timezone)
    if isinstance(schedule, list) or (isinstance(schedule, dict) and CRON not in schedule):
        return asset_condition(schedule)
    if isinstance(schedule, dict):
        return _or_time(schedule[CRON], asset_condition(schedule[ASSETS]), timezone)
    return schedule


def _or_time(cron: str, assets: Any, timezone: str | None) -> Any:
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    timetable = CronTriggerTimetable(cron, timezone=timezone or "UTC")
    return AssetOrTimeSchedule(timetable=timetable, assets=assets)


def outlets(uris: list[str]) -> list[Any]:
    """A task's ``outlets``: an asset per published URI."""
    from airflow.sdk import Asset

    return [Asset(uri) for uri in uris]
