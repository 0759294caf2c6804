"""The Python tasks of the condition port: the metrics the gates read and the branches they choose."""

from __future__ import annotations


def produce_metrics() -> dict[str, float]:
    """Metrics that pass the accuracy gate."""
    return {"accuracy": 0.95, "loss": 0.04}


def produce_bad_metrics() -> dict[str, float]:
    """Metrics that fail it, so the else branch runs."""
    return {"accuracy": 0.5, "loss": 0.8}


def deploy_model() -> str:
    return "deployed"


def retrain_model() -> str:
    return "retrained"


def should_not_run() -> str:
    return "error: should not have run"


def should_run() -> str:
    return "correctly routed to else branch"


def logical_pass() -> str:
    return "logical conditions passed"


def logical_fail() -> str:
    return "error: logical conditions should have passed"
