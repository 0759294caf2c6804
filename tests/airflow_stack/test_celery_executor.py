"""``make airflow EXECUTOR=celery``: the same pipeline through a Redis broker and a Celery worker.

Redis is Debian's ``redis-server`` (``make install`` installs it), started by the stack on a free port
of 127.0.0.1; the worker is ``airflow celery worker``, the process that runs every task here.
"""

from __future__ import annotations

import psutil
import pytest

from .conftest import command_line, start_stack, stop_stack, wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("celery"), executor="celery", pipelines=("iris_training",))
    yield running
    stop_stack(running)


def test_iris_training_succeeds_through_a_celery_worker(stack):
    assert "CeleryExecutor" in stack.output and "Redis on 127.0.0.1:" in stack.output
    wait_until(lambda: "iris_training" in stack.api.dag_ids(), 120, "iris_training listed")
    run_id = stack.api.trigger("iris_training")
    state = stack.api.wait_for_run("iris_training", run_id)
    assert state == "success", stack.api.task_states("iris_training", run_id)
    # Every task went through the broker to the worker, not through a LocalExecutor.
    worker_log = (stack.state_dir / "logs" / "celery-worker.log").read_text()
    for task_id in ("data_prep", "train_model", "create_model", "test_model"):
        assert f"'task_id': '{task_id}'" in worker_log or f"task_id='{task_id}'" in worker_log, task_id


def test_ctrl_c_stops_redis_and_the_worker_too(stack):
    processes = stack.descendants()
    names = " ".join(" ".join(command_line(p)) for p in processes)
    assert "redis-server" in names and "celery" in names
    assert stack.interrupt() == 0, stack.output[-3000:]
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [command_line(p) for p in alive]
