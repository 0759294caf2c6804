"""Setup and teardown: clean-up tasks that run whatever happens and never decide a run's outcome.

A task marked ``teardown: true`` becomes an Airflow teardown (``as_teardown``) of the tasks it cleans up
after - its setups, the tasks it refers to (``model:``, ``endpoint:``...) or whose outputs it uses.
Airflow then runs it once its upstream tasks are done, failed or not, as long as a setup succeeded
(there is something to clean up), and a run's state ignores it: a failure stays a failure, a cleanup
that fails does not fail a run whose work succeeded.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.compiled import CompiledPipeline


def apply_teardowns(dag: Any, compiled: CompiledPipeline) -> None:
    """Mark the compiled pipeline's teardown tasks (and their setups) on the built DAG."""
    for task in compiled.tasks:
        if task.teardown:
            setups = [dag.get_task(s) for s in task.setups]
            dag.get_task(task.task_id).as_teardown(setups=setups or None)
