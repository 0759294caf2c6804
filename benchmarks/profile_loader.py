"""Where does our loader's parse time go? Profile one cold DagBag fill of N synthetic pipelines.

    .venv/bin/python benchmarks/profile_loader.py [--n 1000] [--top 15] [--workdir DIR]
    .venv/bin/python benchmarks/profile_loader.py --task-start [--warm]

Two fresh processes (spawned, Airflow and the operator modules imported before the fill):

1. stage timers: the loader's stages (YAML, references, schema, semantics, compile, botocore check,
   dag-factory build, operator ``__init__``, DagBag bagging) wrapped with wall-clock timers - no
   profiler overhead;
2. cProfile of the same fill: the top functions by cumulative and by own time.

The compile cache, if the loader has one, is empty at the start (SAGEMAKER_PIPELINES_CACHE_DIR points
at a fresh folder), so this is the cold path; run with ``--warm`` to profile a second fill instead.
``--task-start`` profiles what a task runner pays instead: the first pipeline's one DAG file in a fresh
process that has imported only the ``airflow.*`` modules the file names, our package's imports
included, with no compile cache (a fresh worker pod) or, with ``--warm``, a cache the DagBag left.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench  # noqa: E402
import synth  # noqa: E402


def run(job: dict, env: dict[str, str], workdir: Path) -> dict:
    command = [sys.executable, str(BENCH_DIR / "dagbag_child.py"), "--job", json.dumps(job)]
    code = subprocess.run(command, env=env, cwd=workdir, check=False).returncode
    if code != 0:
        raise SystemExit(f"profiling run failed; see {job['log']}")
    result = json.loads(Path(job["out"]).read_text())
    bench.check_run(result, job["n"], "profiled run")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--warm", action="store_true", help="profile a second fill (compile cache warm)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--task-start", action="store_true", help="one DAG file in a fresh process")
    args = parser.parse_args(argv)
    if args.task_start:
        args.n = 1

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sagemaker-profile-"))
    pipelines = workdir / "pipelines"
    files = synth.write_pipelines(pipelines, args.n, args.seed)
    dags = workdir / "ours_dags"
    dags.mkdir(parents=True, exist_ok=True)
    bench.write_dag_files(files, dags)
    cache = workdir / "compile-cache"
    shutil.rmtree(cache, ignore_errors=True)
    package_path = [str(bench.PROJECT / "src"), str(bench.PROJECT)]
    env = bench.child_env(workdir)
    base = {
        "variant": "ours",
        "n": args.n,
        "folder": str(dags),
        "sys_path": package_path,
        "env": {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "SAGEMAKER_PIPELINES_DIR": str(pipelines),
            "SAGEMAKER_PIPELINES_ENV": bench.ENVIRONMENT,
            "SAGEMAKER_PIPELINES_CACHE_DIR": str(cache),
            "SAGEMAKER_LOCAL_DIR": str(workdir / "local"),
        },
    }
    if args.warm:
        run({**base, "log": str(workdir / "warm.log"), "out": str(workdir / "warm.json")}, env, workdir)
    if args.task_start:
        base["folder"] = str(dags / f"{synth.dag_id(0)}.py")
        base["task_start"] = True
        if not args.warm:
            base["env"]["SAGEMAKER_PIPELINES_CACHE_DIR"] = "off"

    stages_file = workdir / "stages.json"
    timed = run(
        {
            **base,
            "log": str(workdir / "stages.log"),
            "out": str(workdir / "s.json"),
            "stages": str(stages_file),
        },
        env,
        workdir,
    )
    if not args.warm:
        shutil.rmtree(cache, ignore_errors=True)
    profile_file = workdir / "fill.prof"
    profiled = run(
        {
            **base,
            "log": str(workdir / "prof.log"),
            "out": str(workdir / "p.json"),
            "profile": str(profile_file),
        },
        env,
        workdir,
    )

    stages = json.loads(stages_file.read_text())
    fill = stages["fill_s"]
    state = "warm" if args.warm else "cold"
    print(f"\n== Stage timers: N={args.n} ({timed['tasks']} tasks), {state} fill {fill:.2f} s ==")
    print(f"{'stage':<44}{'seconds':>9}{'share':>8}{'calls':>8}{'ms/call':>9}")
    for label, (seconds, calls) in stages["stages"].items():
        if calls:
            per_call = 1000 * seconds / calls
            print(f"{label:<44}{seconds:>9.2f}{seconds / fill:>8.0%}{calls:>8}{per_call:>9.2f}")

    print(f"\n== cProfile ({state} fill {profiled['fill_s']:.2f} s under the profiler) ==")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(str(profile_file), stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        body = out.getvalue()
        print(f"-- top {args.top} by {order} --")
        print(body[body.find("   ncalls") :].rstrip())
    print(f"\nfiles in {workdir} (profile: {profile_file})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
