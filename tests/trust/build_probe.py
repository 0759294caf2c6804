"""Run by the trust tests in a fresh interpreter: build a pipeline's DAG the way the loader does.

``build_probe.py <pipeline.yaml> <cache folder> <report.json> [--entry <entry.json>]`` checks the file
through the compile cache (or, with ``--entry``, takes the compiled pipeline straight out of a cache
entry file, as a loader without guards would) and builds the DAG with dag-factory (``--validate``:
then runs the checks DagBag runs). The report says which default_args the DAG got.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    from sagemaker_pipelines.airflow.dag_builder import build_dag
    from sagemaker_pipelines.cache.compile_cache import CompileCache, check_file_cached
    from sagemaker_pipelines.compile.compiled import CompiledPipeline
    from sagemaker_pipelines.format.environment import load_environment

    pipeline, folder, report = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    if "--entry" in sys.argv:
        entry = json.loads(Path(sys.argv[sys.argv.index("--entry") + 1]).read_text())["entry"]
        compiled = CompiledPipeline.from_dict(entry["compiled"])
    else:
        result = check_file_cached(pipeline, load_environment("local"), CompileCache(folder))
        compiled = result.compiled
    dag = build_dag(compiled)
    if "--validate" in sys.argv:  # what DagBag runs on every DAG it bags
        dag.validate()
        dag.check_cycle()
    report.write_text(json.dumps({"dag_id": dag.dag_id, "default_args": sorted(dag.default_args)}))


if __name__ == "__main__":
    main()
