"""The ports of the Amazon provider's SageMaker system tests run offline, as `make run` runs them: every
task's provider operator sends its request over HTTP to the local endpoint, and every task succeeds
(a gate's branch not taken is skipped, as in the original). The requests themselves are compared with
the originals' in tests/provider_ports/test_requests_equal.py."""

from __future__ import annotations

import pytest

from tests.provider_ports import PORT_ENV

# The branches the originals' gates do not take (their metrics decide it), skipped there too.
NOT_TAKEN = {"example_sagemaker_condition": {"retrain_model", "should_not_run", "logical_fail"}}


@pytest.mark.parametrize(
    "port",
    [
        "example_sagemaker_condition",
        "example_sagemaker_notebook",
        "example_sagemaker_endpoint",
        "example_sagemaker_pipeline",
    ],
)
def test_the_port_runs_offline_with_every_task_in_success(port, run_pipeline):
    run = run_pipeline(port, extra_env=PORT_ENV)
    states = {t["task_id"]: t["state"] for t in run.report["tasks"]}
    assert run.returncode == 0, run.output[-6000:]
    skipped = {task for task, state in states.items() if state == "skipped"}
    assert skipped == NOT_TAKEN.get(port, set()), states
    assert {states[t] for t in states if t not in skipped} == {"success"}, states
