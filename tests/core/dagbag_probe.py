"""Run by test_dagbag.py in a fresh interpreter (Airflow reads its settings once, at import).

Loads Airflow's own DagBag over AIRFLOW__CORE__DAGS_FOLDER - the pipelines come from
SAGEMAKER_PIPELINES_DIR and SAGEMAKER_PIPELINES_ENV - and writes one JSON object to the file named by its
argument (Airflow logs to stdout): every DAG with its tasks (operator class, upstream task ids) and the
import errors by file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "tags": sorted(dag.tags),
            "tasks": {
                task.task_id: {
                    "operator": type(task).__name__,
                    "module": type(task).__module__,
                    "upstream": sorted(task.upstream_task_ids),
                }
                for task in dag.tasks
            },
        }
    report = {"dags": dags, "import_errors": dict(bag.import_errors)}
    Path(sys.argv[1]).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
