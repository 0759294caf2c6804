"""Dates with an offset keep their instant: dag-factory would replace the zone, so we convert first."""

from __future__ import annotations

import datetime as dt

from sagemaker_pipelines.airflow.dag_builder import dag_factory_config, parse_date


def test_offsets_are_converted_to_utc():
    assert parse_date("2021-07-31T06:00:00+02:00") == dt.datetime(2021, 7, 31, 4, tzinfo=dt.UTC)


def test_plain_dates_are_utc_midnight():
    assert parse_date("2021-07-31") == dt.datetime(2021, 7, 31, tzinfo=dt.UTC)


def test_dag_config_carries_the_converted_instant(compile_ok):
    compiled = compile_ok(
        "start_date: 2021-07-31T06:00:00+02:00\ntasks:\n  wait: {kind: s3_key_sensor, key: s3://my-bucket/k}\n"
    )
    assert dag_factory_config(compiled)["start_date"] == dt.datetime(2021, 7, 31, 4, tzinfo=dt.UTC)
