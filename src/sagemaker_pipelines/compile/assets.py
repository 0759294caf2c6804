"""Assets: what a task publishes (``publish:``) and what a pipeline is scheduled on (``schedule:``).

An asset is identified by its URI alone (Airflow's ``Asset(uri)``, whose name is the same text), so a
pipeline names the asset another pipeline publishes by writing the same location. Both sides go
through :func:`asset_uri`, which drops a trailing ``/``: ``s3://b/iris/results/`` and
``s3://b/iris/results`` are one asset.

A task publishes the location *its request writes to*, read from the compiled request (after
``config:`` overrides), never a per-run path: a training job writes its model to
``<S3OutputPath>/<job name>/output/model.tar.gz`` and the job name carries the run's timestamp, so the
asset is the stable prefix ``<S3OutputPath>``; the per-run file stays ``${tasks.<id>.model_artifacts}``.
Both agree: the asset is the prefix the output reference's value starts with. A location known only
at run time (a ``${params.x}`` or ``${tasks...}`` in it) cannot be an asset: Airflow registers assets
when it parses the DAG, so it is refused with the field that made it so.

An asset can also be fed from outside Airflow by a *watcher* (``schedule: {s3_events: <prefix>, queue:
<SQS URL>}`` or ``{sqs: <SQS URL>}``): the asset is the S3 prefix (or the queue), and Airflow's
triggerer turns each matching message on the queue into an event of it. The compiled schedule keeps
the connection the watcher reads the queue with, so the DAG file needs nothing from the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ANY, ALL, CRON, ASSETS = "any", "all", "cron", "assets"
S3_EVENTS, QUEUE, SQS, CONN = "s3_events", "queue", "sqs", "aws_conn_id"


class AssetError(ValueError):
    """A ``publish:`` or ``schedule:`` that names no asset that can exist at parse time."""

    field: str | None = None  # the key under ``schedule:`` at fault, for a schedule's error


def asset_uri(location: str) -> str:
    """The one spelling of an asset: the location without surrounding space or a trailing ``/``."""
    text = location.strip()
    return text.rstrip("/") if "://" in text and not text.endswith("://") else text


def _training(kwargs: dict[str, Any]) -> dict[str, str]:
    return {"model_artifacts": kwargs["config"]["OutputDataConfig"]["S3OutputPath"]}


def _tuning(kwargs: dict[str, Any]) -> dict[str, str]:
    definition = kwargs["config"]["TrainingJobDefinition"]
    return {"best_model_artifacts": definition["OutputDataConfig"]["S3OutputPath"]}


def _transform(kwargs: dict[str, Any]) -> dict[str, str]:
    return {"output": kwargs["config"]["TransformOutput"]["S3OutputPath"]}


def _processing(kwargs: dict[str, Any]) -> dict[str, str]:
    outputs = kwargs["config"].get("ProcessingOutputConfig", {}).get("Outputs", [])
    return {f"outputs.{o['OutputName']}": o["S3Output"]["S3Uri"] for o in outputs if "S3Output" in o}


def _s3_upload(kwargs: dict[str, Any]) -> dict[str, str]:
    return {"to": kwargs["dest_key"]}


# kind -> (what each publishable output writes to, from the compiled arguments). ``publish: true``
# publishes every one of them (a processing job's outputs; the one location of the others).
PUBLISHERS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "training": _training,
    "tuning": _tuning,
    "transform": _transform,
    "processing": _processing,
    "s3_upload": _s3_upload,
}


def _known_at_parse_time(output: str, location: str) -> str:
    if "{{" in location or "{%" in location:
        raise AssetError(
            f"output '{output}' is known only at run time ({location}): an asset must be a fixed location"
        )
    return asset_uri(location)


def published(kind: str, publish: Any, kwargs: dict[str, Any]) -> list[str]:
    """The asset URIs a task's ``publish:`` names, in the order written, without repeats."""
    if publish is None or publish is False:
        return []
    if kind not in PUBLISHERS:
        raise AssetError(
            f"a {kind} task writes nothing to publish (publish: works on {', '.join(PUBLISHERS)})"
        )
    locations = PUBLISHERS[kind](kwargs)
    if publish is True:
        if not locations:
            raise AssetError(f"this {kind} task writes no output to publish")
        chosen = [_known_at_parse_time(name, loc) for name, loc in locations.items()]
    else:
        chosen = []
        for item in publish:
            if item in locations:
                chosen.append(_known_at_parse_time(item, locations[item]))
            elif "://" in item:
                chosen.append(asset_uri(item))
            else:
                allowed = ", ".join(locations) or "none"
                raise AssetError(
                    f"'{item}' is neither an output of this {kind} task ({allowed}) nor an asset URI (scheme://...)"
                )
    return list(dict.fromkeys(chosen))


def condition_uris(condition: Any) -> list[str]:
    """Every asset URI of an asset condition (a list, ``{any: [...]}``, ``{all: [...]}``, nested)."""
    if isinstance(condition, str):
        return [asset_uri(condition)]
    if isinstance(condition, list):
        return [uri for item in condition for uri in condition_uris(item)]
    if isinstance(condition, dict):
        for key in (ANY, ALL, ASSETS):
            if key in condition:
                return condition_uris(condition[key])
    return []


def watcher(schedule: Any) -> dict[str, str] | None:
    """A schedule's watcher: ``{"asset", "queue"}`` and ``"s3_events"`` (the watched prefix) for S3
    events, or None for a schedule that no outside event starts."""
    if not isinstance(schedule, dict):
        return None
    if S3_EVENTS in schedule:
        return {"asset": schedule[S3_EVENTS], "queue": schedule[QUEUE], S3_EVENTS: schedule[S3_EVENTS]}
    if SQS in schedule:
        return {"asset": schedule[SQS], "queue": schedule[SQS]}
    return None


def scheduled_on(schedule: Any) -> list[str]:
    """The asset URIs a schedule waits on (none for a cron, a preset or manual runs)."""
    if (watched := watcher(schedule)) is not None:
        return [watched["asset"]]
    if isinstance(schedule, (list, dict)):
        return list(dict.fromkeys(condition_uris(schedule)))
    return []


def _condition(condition: Any) -> Any:
    if isinstance(condition, str):
        return asset_uri(condition)
    if isinstance(condition, list):
        return [_condition(item) for item in condition]
    if isinstance(condition, dict):
        return {key: value if key == CRON else _condition(value) for key, value in condition.items()}
    return condition


def _watched(schedule: dict[str, Any], aws_conn_id: str | None) -> dict[str, Any]:
    for key in (S3_EVENTS, QUEUE, SQS):
        if "{{" in str(schedule.get(key, "")):
            error = AssetError(
                f"'{schedule[key]}' is known only at run time: a watched queue and prefix are fixed "
                "when Airflow parses the DAG"
            )
            error.field = key
            raise error
    out: dict[str, Any] = {key: value.strip() for key, value in schedule.items()}
    if S3_EVENTS in out:
        out[S3_EVENTS] = asset_uri(out[S3_EVENTS])
    return {**out, CONN: aws_conn_id}


def normalized_schedule(schedule: Any, aws_conn_id: str | None = None) -> Any:
    """The schedule as compiled data: asset URIs spelled by :func:`asset_uri`, a cron or preset as
    written; a watcher also gets the connection (``aws_conn_id``) it reads its queue with."""
    if isinstance(schedule, dict) and (S3_EVENTS in schedule or SQS in schedule):
        return _watched(schedule, aws_conn_id)
    return _condition(schedule) if isinstance(schedule, (list, dict)) else schedule
