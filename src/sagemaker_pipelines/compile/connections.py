"""The Airflow connections a task may use: the ones its environment names, and no other.

A connection id is a key to credentials and to a host. A ``kind: operator`` task that could name any
connection could send a request to any system the deployment has credentials for, and in the local
environment to a machine other than this one. So an environment lists what its pipelines' operator
tasks may name (``allowed_connections``), and the connections it uses itself (its AWS connection, its
warehouse's, its notifiers') are allowed without being listed. The local environment's loopback guard
(:class:`sagemaker_pipelines.airflow.tasks.LoopbackOnly`) checks every connection a compiled task names,
found by :func:`task_connections`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagemaker_pipelines.format.environment import Environment


def is_connection_argument(name: str) -> bool:
    """Whether an operator argument names an Airflow connection (``conn_id``, ``aws_conn_id``,
    ``sql_conn_id``, ``source_aws_conn_id``, ...): Airflow's naming convention for them."""
    return name == "conn_id" or name.endswith("_conn_id")


def allowed_connections(environment: Environment) -> tuple[str, ...]:
    """What tasks may name in ``environment``: its list plus the connections it uses itself, sorted."""
    own = {environment.aws_conn_id, environment.warehouse.get("conn_id", "")}
    own |= {
        spec["conn_id"] for spec in environment.notifiers.values() if isinstance(spec.get("conn_id"), str)
    }
    return tuple(sorted((own | set(environment.allowed_connections)) - {""}))


def task_connections(kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The connection ids a compiled task's arguments name (templated ones included as written)."""
    found = {
        value for name, value in kwargs.items() if is_connection_argument(name) and isinstance(value, str)
    }
    return tuple(sorted(found))
