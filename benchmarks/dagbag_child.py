"""Fill one cold Airflow DagBag and measure it, in a fresh process.

Two ways to get that fresh process (``bench.py`` picks one):

- fork server (default): ``python dagbag_child.py --serve`` imports Airflow and the SageMaker operator
  modules once, then reads one JSON job per stdin line and forks a child per job, the way Airflow's
  DAG processor forks a child per parse from a parent that has Airflow imported. Each child starts
  from the same pristine state (no DagBag, none of the variant's libraries imported) and exits after
  the job. This saves the ~7 s Airflow import per run on a 2-core machine.
- spawn: ``python dagbag_child.py --job '<json>'`` does the imports and runs one job in this process.

Inside the child only the DagBag fill is timed. The variant's own libraries (dag-factory; our package
with jsonschema and botocore) are imported first and timed separately. A ``task_start`` job instead
imports only the ``airflow.*`` modules its one DAG file names (what the dag-processor pre-imports;
untimed), freezes the garbage collector as Airflow's executors do before forking a task, and then
times the DagBag of that file, our package's imports included: what a task runner pays to load the
DAG of the task it runs. Peak RSS is
``getrusage(RUSAGE_SELF).ru_maxrss`` (it includes the Airflow baseline, identical for every variant);
the RSS just before the fill is reported too.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import sys
import time
import traceback

BASE_IMPORTS = (
    "airflow",
    "airflow.sdk",
    "airflow.dag_processing.dagbag",
    "airflow.providers.amazon.aws.operators.sagemaker",
    "airflow.providers.amazon.aws.sensors.sagemaker",
)
VARIANT_IMPORTS = {
    "hand-written": (),
    "dag-factory": ("dagfactory", "dagfactory.dagbuilder"),
    "ours": (
        "sagemaker_pipelines.airflow.loader",
        "sagemaker_pipelines.airflow.dag_builder",
        "dagfactory.dagbuilder",
    ),
}
TASK_ATTRS = (
    "config",
    "aws_conn_id",
    "region_name",
    "wait_for_completion",
    "check_interval",
    "print_log",
    "operation",
    "retries",
    "retry_delay",
    "execution_timeout",
    "max_retry_delay",
    "trigger_rule",
    "pool",
    "owner",
    "doc_md",
    "depends_on_past",
    "email_on_failure",
    "email_on_retry",
)


def preimport() -> float:
    start = time.perf_counter()
    for module in BASE_IMPORTS:
        importlib.import_module(module)
    return time.perf_counter() - start


def file_imports(path: str) -> list[str]:
    """The ``airflow.*`` modules a DAG file imports, found as Airflow's dag-processor finds them."""
    from airflow.utils.file import iter_airflow_imports

    return list(iter_airflow_imports(path))


def _plain(value):
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def fingerprint(dag) -> dict:
    """What must be equal between the variants: DAG arguments, tasks, their arguments and edges."""
    params = {k: dag.params.get_param(k).dump() for k in dag.params}
    tasks = {}
    for task in dag.tasks:
        tasks[task.task_id] = {
            "class": f"{type(task).__module__}.{type(task).__qualname__}",
            "upstream": sorted(task.upstream_task_ids),
            **{name: getattr(task, name, None) for name in TASK_ATTRS},
        }
    return _plain(
        {
            "dag_id": dag.dag_id,
            "description": dag.description,
            # dag-factory appends its own "## YML DAG" dump of the config to doc_md
            "doc_md": (dag.doc_md or "").split("\n## YML DAG\n")[0],
            "schedule": [type(dag.timetable).__name__, repr(getattr(dag, "schedule", None))],
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "end_date": dag.end_date.isoformat() if dag.end_date else None,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "max_active_tasks": dag.max_active_tasks,
            "dagrun_timeout": dag.dagrun_timeout,
            "tags": sorted(set(dag.tags) - {"dagfactory"}),
            "default_args": dag.default_args,
            "params": params,
            "tasks": tasks,
        }
    )


# Stages of our loader timed by ``--stages`` (profile_loader.py): (module, attribute path) to wrap.
STAGES = (
    (
        "environment (load_environment_cached)",
        "sagemaker_pipelines.cache.compile_cache",
        "load_environment_cached",
    ),
    ("check_file_cached (checking + cache)", "sagemaker_pipelines.cache.compile_cache", "check_file_cached"),
    ("  cache: CompileCache.key", "sagemaker_pipelines.cache.compile_cache", "CompileCache.key"),
    ("  cache: CompileCache.get", "sagemaker_pipelines.cache.compile_cache", "CompileCache.get"),
    ("  cache: CompileCache.put", "sagemaker_pipelines.cache.compile_cache", "CompileCache.put"),
    ("  check_text (cache misses)", "sagemaker_pipelines.cache.compile_cache", "check_text"),
    # The checker imports its stages when it runs them: their own modules are patched.
    ("    yaml: load_document", "sagemaker_pipelines.format.yaml_source", "load_document"),
    ("    references: Resolver.resolve", "sagemaker_pipelines.format.references", "Resolver.resolve"),
    ("    schema: check_against_schema", "sagemaker_pipelines.format.schema_check", "check_against_schema"),
    ("    semantics: check_semantics", "sagemaker_pipelines.checks.semantics", "check_semantics"),
    ("    compile: compile_pipeline", "sagemaker_pipelines.compile.compiler", "compile_pipeline"),
    ("    botocore: check_compiled", "sagemaker_pipelines.compile.request_check", "check_compiled"),
    ("build_dag (all building)", "sagemaker_pipelines.airflow.dag_builder", "build_dag"),
    ("  dag_factory_config", "sagemaker_pipelines.airflow.dag_builder", "dag_factory_config"),
    ("  DagBuilder.__init__ (deepcopy)", "dagfactory.dagbuilder", "DagBuilder.__init__"),
    ("  DagBuilder.build", "dagfactory.dagbuilder", "DagBuilder.build"),
    ("    DAG.__init__", "airflow.sdk", "DAG.__init__"),
    ("    DagBuilder.make_task", "dagfactory.dagbuilder", "DagBuilder.make_task"),
    ("      operator __init__ (SageMaker)", "airflow.providers.amazon.aws.operators.sagemaker", "*"),
    ("    DagBuilder.set_dependencies", "dagfactory.dagbuilder", "DagBuilder.set_dependencies"),
    ("DagBag.bag_dag (cycle check, policies)", "airflow.dag_processing.dagbag", "DagBag.bag_dag"),
)


def _timed_init(original, timer):
    import functools

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        return timer(original, self, *args, **kwargs)

    return __init__


def install_stage_timers() -> dict[str, list[float]]:
    """Wrap the stages above; outermost calls only, so recursion is not counted twice."""
    import functools
    import inspect

    totals: dict[str, list[float]] = {}

    def wrap(label: str, func):
        depth = [0]
        totals[label] = [0.0, 0]

        @functools.wraps(func)
        def timed(*args, **kwargs):
            if depth[0]:
                return func(*args, **kwargs)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                depth[0] -= 1
                totals[label][0] += time.perf_counter() - start
                totals[label][1] += 1

        return timed

    for label, module_name, path in STAGES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if path == "*":  # every operator class defined in the module: time its __init__
            classes = [
                c
                for c in vars(module).values()
                if inspect.isclass(c) and c.__module__ == module_name and "__init__" in vars(c)
            ]
            shared = wrap(label, lambda f, *a, **k: f(*a, **k))
            for cls in classes:
                cls.__init__ = _timed_init(cls.__init__, shared)
            continue
        owner_name, _, attr = path.rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        if not hasattr(owner, attr):
            continue
        raw = inspect.getattr_static(owner, attr)
        if isinstance(raw, staticmethod):
            setattr(owner, attr, staticmethod(wrap(label, raw.__func__)))
        elif isinstance(raw, classmethod):
            setattr(owner, attr, classmethod(wrap(label, raw.__func__)))
        else:
            setattr(owner, attr, wrap(label, getattr(owner, attr)))
    return totals


def run_job(job: dict) -> dict:
    os.environ.update(job.get("env", {}))
    for entry in reversed(job.get("sys_path", [])):
        sys.path.insert(0, entry)

    start = time.perf_counter()
    for module in file_imports(job["folder"]) if job.get("task_start") else VARIANT_IMPORTS[job["variant"]]:
        importlib.import_module(module)
    import_s = time.perf_counter() - start
    if job.get("task_start"):
        # Airflow's LocalExecutor, Celery worker and dag-processor call gc.freeze() before they fork, so
        # a task runner's garbage collections do not scan what its parent had imported.
        gc.freeze()

    import psutil
    from airflow.dag_processing.dagbag import DagBag

    stages = install_stage_timers() if job.get("stages") else None
    rss_before = psutil.Process().memory_info().rss
    profiler = None
    if job.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    bag = DagBag(dag_folder=job["folder"])
    fill_s = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(job["profile"])
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    if stages is not None:
        with open(job["stages"], "w", encoding="utf-8") as out:
            json.dump({"fill_s": fill_s, "stages": stages}, out)
    if job.get("fingerprint"):
        with open(job["fingerprint"], "w", encoding="utf-8") as out:
            json.dump({dag_id: fingerprint(dag) for dag_id, dag in sorted(bag.dags.items())}, out)
    return {
        "variant": job["variant"],
        "fill_s": fill_s,
        "import_s": import_s,
        "peak_rss": peak_rss,
        "rss_before": rss_before,
        "dags": len(bag.dags),
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "import_errors": {str(k): str(v)[-4000:] for k, v in bag.import_errors.items()},
    }


def _child(job: dict) -> int:
    """In the forked child: send output to the job's log, run, write the result file."""
    fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        result = run_job(job)
        with open(job["out"], "w", encoding="utf-8") as out:
            json.dump(result, out)
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def serve() -> None:
    import_s = preimport()
    print(json.dumps({"ready": True, "import_s": import_s}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(job))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        serve()
        return 0
    if argv[:1] == ["--job"]:
        job = json.loads(argv[1])
        preimport()
        return _child(job)
    print("usage: dagbag_child.py --serve | --job '<json>'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
