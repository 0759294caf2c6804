"""Parse-time benchmark: our YAML loader against hand-written DAG files and plain dag-factory YAML.

    .venv/bin/python benchmarks/bench.py [--sizes 10,100,1000] [--runs 3] [--out benchmarks/RESULTS.md]
    make bench [N=10]

For each size N it generates N synthetic pipelines (seeded, 4-12 SageMaker tasks each), checks and
compiles every one of them with ``checker.check_file`` (the benchmark stops if any is invalid), and
writes the same DAGs two more ways from the compiled configs: hand-written Python files and
dag-factory ``load_yaml_dags`` YAML. Then, for each variant, it fills a cold Airflow ``DagBag`` in a
fresh process several times (see ``dagbag_child.py``), checks that exactly N DAGs and no import errors
came out and that the three variants built equal DAGs, and times the validation of the N files by our
checker against ``check-jsonschema``. The table goes to RESULTS.md; stdout ends with one line per N:

    bench N=1000 ours/hand-written=1.21 ours/dag-factory=0.18 validate/check-jsonschema=0.40 \
memory ours/hand-written=1.05   (one line)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
for entry in (str(BENCH_DIR), str(PROJECT), str(PROJECT / "src")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import render  # noqa: E402
import synth  # noqa: E402

SCHEMA = PROJECT / "schemas" / "pipeline.schema.json"
CLI_FILE = PROJECT / "src" / "sagemaker_pipelines" / "toolkit" / "cli.py"
ENVIRONMENT = "local"
# Timed runs of one variant (or validator) stop at about this many seconds, at least one run: keeps the
# default run (N=10,100,1000) around 10 minutes on 2 cores while small sizes get all their runs.
RUN_BUDGET_S = 90.0
VALIDATION_BUDGET_S = 50.0
VARIANTS = ("hand-written", "dag-factory", "ours")


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to: wrong DAG count, import errors, bad files."""


# --------------------------------------------------------------------------------------------- runs


class Runner:
    """Runs DagBag jobs in fresh processes: forked from a server with Airflow imported, or spawned."""

    def __init__(self, workdir: Path, env: dict[str, str], spawn: bool):
        self.workdir = workdir
        self.env = env
        self.spawn = spawn
        self.server: subprocess.Popen | None = None
        self.count = 0
        self.airflow_import_s: float | None = None

    def start(self) -> None:
        if self.spawn:
            return
        self.server_log = open(self.workdir / "forkserver.log", "w")  # noqa: SIM115 - closed in close()
        self.server = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "dagbag_child.py"), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.server_log,
            env=self.env,
            cwd=self.workdir,
            text=True,
        )
        line = self.server.stdout.readline()
        if not line:
            raise BenchError(f"the fork server died on start; see {self.workdir / 'forkserver.log'}")
        self.airflow_import_s = json.loads(line)["import_s"]

    def close(self) -> None:
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait(timeout=60)
            self.server_log.close()
            self.server = None

    def run(self, variant: str, folder: Path, env: dict[str, str], sys_path: list[str], **extra) -> dict:
        self.count += 1
        stem = self.workdir / "jobs" / f"{self.count:03d}-{variant}"
        stem.parent.mkdir(exist_ok=True)
        job = {
            "variant": variant,
            "folder": str(folder),
            "env": env,
            "sys_path": sys_path,
            "log": f"{stem}.log",
            "out": f"{stem}.json",
            **{k: str(v) for k, v in extra.items() if v},
        }
        if self.server is not None:
            self.server.stdin.write(json.dumps(job) + "\n")
            self.server.stdin.flush()
            reply = self.server.stdout.readline()
            code = json.loads(reply)["exit"] if reply else "server died"
        else:
            command = [sys.executable, str(BENCH_DIR / "dagbag_child.py"), "--job", json.dumps(job)]
            code = subprocess.run(command, env=self.env, cwd=self.workdir, check=False).returncode
        if code != 0:
            log = Path(job["log"]).read_text(errors="replace")[-3000:] if Path(job["log"]).exists() else ""
            raise BenchError(f"{variant} DagBag run failed (exit {code}); log {job['log']}:\n{log}")
        return json.loads(Path(job["out"]).read_text())


def check_run(result: dict, n: int, what: str) -> None:
    """Fail loudly unless the DagBag holds exactly the N DAGs and no import errors."""
    if result["import_errors"] or result["dags"] != n:
        errors = "\n".join(f"  {k}: {v[-1500:]}" for k, v in list(result["import_errors"].items())[:3])
        raise BenchError(
            f"{what}: expected {n} DAGs and no import errors, got {result['dags']} DAGs and "
            f"{len(result['import_errors'])} import errors\n{errors}"
        )


def compare_fingerprints(files: dict[str, Path], n: int) -> None:
    """The three variants must have built the same DAGs (arguments, tasks, operator kwargs, edges)."""
    loaded = {variant: json.loads(path.read_text()) for variant, path in files.items()}
    reference_name, reference = next(iter(loaded.items()))
    if len(reference) != n:
        raise BenchError(f"{reference_name}: fingerprinted {len(reference)} DAGs, expected {n}")
    for variant, dags in loaded.items():
        if dags.keys() != reference.keys():
            missing = sorted(reference.keys() ^ dags.keys())[:5]
            raise BenchError(f"{variant} and {reference_name} built different DAG ids: {missing}")
        for dag_id, fp in dags.items():
            if fp != reference[dag_id]:
                raise BenchError(
                    f"{variant} built {dag_id} differently from {reference_name}: "
                    + _first_difference(reference[dag_id], fp)
                )


def _first_difference(a, b, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    return f"{path or '<root>'}: {json.dumps(a)[:300]} != {json.dumps(b)[:300]}"


@dataclass
class SizeResult:
    n: int
    tasks: int = 0
    runs: dict[str, list[dict]] = field(default_factory=dict)  # variant -> timed runs
    validation: dict[str, list[float]] = field(default_factory=dict)  # tool -> wall seconds
    notes: list[str] = field(default_factory=list)
    cache_files: int = 0
    commands: dict[str, str] = field(default_factory=dict)  # validation tool -> command line

    def median(self, variant: str, key: str = "fill_s") -> float:
        return statistics.median(r[key] for r in self.runs[variant])

    def ratios(self) -> dict[str, float]:
        validator = "ours (CLI)" if "ours (CLI)" in self.validation else "ours (check_file)"
        return {
            "ours/hand-written": self.median("ours") / self.median("hand-written"),
            "ours/dag-factory": self.median("ours") / self.median("dag-factory"),
            "validate/check-jsonschema": statistics.median(self.validation[validator])
            / statistics.median(self.validation["check-jsonschema"]),
            "memory ours/hand-written": self.median("ours", "peak_rss")
            / self.median("hand-written", "peak_rss"),
        }

    def final_line(self) -> str:
        r = self.ratios()
        return (
            f"bench N={self.n} ours/hand-written={r['ours/hand-written']:.2f} "
            f"ours/dag-factory={r['ours/dag-factory']:.2f} "
            f"validate/check-jsonschema={r['validate/check-jsonschema']:.2f} "
            f"memory ours/hand-written={r['memory ours/hand-written']:.2f}"
        )


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed_runs(runner: Runner, variant: str, runs: int, result: SizeResult, label: str, **job) -> None:
    """``runs`` timed runs (fewer when one run is slow); the first one also fingerprints."""
    done: list[dict] = []
    target = runs
    while len(done) < target:
        r = runner.run(variant, **job)
        check_run(r, result.n, f"{label} run {len(done) + 1}")
        done.append(r)
        log(
            f"  {label:<13} run {len(done)}: fill {r['fill_s']:.2f}s, peak RSS {r['peak_rss'] / 2**20:.0f} MB"
        )
        job.pop("fingerprint", None)
        if len(done) == 1:
            target = budgeted_runs(runs, r["fill_s"], result, label)
    result.runs[label] = done


def budgeted_runs(
    runs: int, first_s: float, result: SizeResult, label: str, budget: float = RUN_BUDGET_S
) -> int:
    """Fewer runs for slow variants, so the default run stays well under 15 minutes on 2 cores."""
    target = min(runs, max(1, int(budget // max(first_s, 1e-9))))
    if target < runs:
        result.notes.append(
            f"N={result.n}: {label} took {first_s:.0f} s per run, so it had {target} timed "
            f"run{'s' if target > 1 else ''} instead of {runs} (budget {budget:.0f} s)"
        )
    return target


# ------------------------------------------------------------------------------------ validation


def time_command(command: list[str], env: dict[str, str], what: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr)[-3000:]
        raise BenchError(f"{what} exited {proc.returncode} on the synthetic pipelines:\n{output}")
    return elapsed


def cli_validate_command(env: dict[str, str]) -> list[str]:
    """``sagemaker-pipelines validate`` as ``make validate`` runs it (its worker processes),
    but without its cache: the checking itself is timed. check_file alone shows the one-process cost."""
    command = [sys.executable, "-m", "sagemaker_pipelines.toolkit", "validate"]
    helped = subprocess.run(
        [*command, "--help"], env=env, cwd=PROJECT, capture_output=True, text=True, check=False
    )
    if "--no-cache" in helped.stdout:
        command += ["--no-cache"]
    return command


def time_validation(files: list[Path], runs: int, result: SizeResult, env: dict[str, str]) -> None:
    names = [str(f) for f in files]
    our_env = {**env, "PYTHONPATH": f"{PROJECT / 'src'}{os.pathsep}{PROJECT}"}
    our_env["SAGEMAKER_PIPELINES_CACHE_DIR"] = "off"  # time the checking itself, not a cache
    our_env["SAGEMAKER_LOCAL_DIR"] = str(files[0].parent.parent / "local")  # never the project's .local/
    check_jsonschema = Path(sys.executable).parent / "check-jsonschema"
    if not check_jsonschema.exists():
        check_jsonschema = Path(shutil.which("check-jsonschema") or "check-jsonschema")
    tools = {
        "ours (check_file)": [sys.executable, str(BENCH_DIR / "validate_child.py"), "--env", ENVIRONMENT],
        "check-jsonschema": [str(check_jsonschema), "--schemafile", str(SCHEMA)],
    }
    if CLI_FILE.exists():
        tools["ours (CLI)"] = [*cli_validate_command(our_env), "--env", ENVIRONMENT]
    for tool, command in tools.items():
        shown = [Path(c).name if c in (sys.executable, str(check_jsonschema)) else c for c in command]
        result.commands[tool] = " ".join(shown).replace(str(PROJECT) + "/", "") + " <N files>"
        times: list[float] = []
        target = runs
        while len(times) < target:
            try:
                times.append(time_command(command + names, our_env if "ours" in tool else env, tool))
            except BenchError as exc:
                if tool != "ours (CLI)":
                    raise
                # The CLI is being written in parallel: report, fall back to check_file for the ratio.
                result.notes.append(f"N={result.n}: the CLI failed, not timed: {str(exc)[:400]}")
                log(f"  WARNING {str(exc)[:400]}")
                break
            log(f"  validate {tool:<18} run {len(times)}: {times[-1]:.2f}s")
            if len(times) == 1:
                target = budgeted_runs(runs, times[0], result, f"validation by {tool}", VALIDATION_BUDGET_S)
        if times:
            result.validation[tool] = times


# ------------------------------------------------------------------------------------------ sizes


def write_dag_files(pipelines: list[Path], folder: Path) -> None:
    """Our variant's DAG folder: one generated DAG file per pipeline, as ``make sync`` writes them."""
    from sagemaker_pipelines.toolkit import sync

    sync.apply(sync.plan(pipelines, folder))


def bench_size(n: int, args, runner: Runner, root: Path, env: dict[str, str]) -> SizeResult:
    from sagemaker_pipelines.checker import check_file
    from sagemaker_pipelines.format.environment import load_environment

    result = SizeResult(n)
    pipelines = root / "pipelines"
    log(f"N={n}: generating {n} pipelines (seed {args.seed}) in {pipelines}")
    files = synth.write_pipelines(pipelines, n, args.seed)

    environment = load_environment(ENVIRONMENT)
    compiled = []
    for path in files:
        checked = check_file(path, environment)
        if not checked.ok:
            problems = "\n".join(f"  {p.location()}: {p.field}: {p.message}" for p in checked.problems[:10])
            raise BenchError(f"synthetic pipeline {path.name} is invalid:\n{problems}")
        compiled.append(checked.compiled)
    result.tasks = sum(len(c.tasks) for c in compiled)
    log(f"N={n}: all {n} pipelines pass check_file ({result.tasks} tasks); writing the other variants")

    hand = root / "hand_written"
    render.write_hand_written(hand, compiled)
    factory = root / "dag_factory"
    render.write_dag_factory(factory, compiled)
    ours = root / "ours_dags"
    write_dag_files(files, ours)
    cache = root / "compile-cache"

    package_path = [str(PROJECT / "src"), str(PROJECT)]
    jobs = {
        "hand-written": {"folder": hand, "env": {"AIRFLOW__CORE__DAGS_FOLDER": str(hand)}, "sys_path": []},
        "dag-factory": {
            "folder": factory,
            "env": {"AIRFLOW__CORE__DAGS_FOLDER": str(factory)},
            "sys_path": [],
        },
        "ours": {
            "folder": ours,
            "env": {
                "AIRFLOW__CORE__DAGS_FOLDER": str(ours),
                "SAGEMAKER_PIPELINES_DIR": str(pipelines),
                "SAGEMAKER_PIPELINES_ENV": ENVIRONMENT,
                "SAGEMAKER_PIPELINES_CACHE_DIR": str(cache),
                "SAGEMAKER_LOCAL_DIR": str(root / "local"),
                "PYTHONPATH": os.pathsep.join(package_path),
            },
            "sys_path": package_path,
        },
    }
    prints = {v: root / f"fingerprint-{v}.json" for v in VARIANTS}

    # Hand-written: one untimed run first, so the timed runs read cached bytecode as Airflow would.
    warm = runner.run("hand-written", **jobs["hand-written"], fingerprint=prints["hand-written"])
    check_run(warm, n, "hand-written warm-up")
    log(f"  hand-written  warm-up (untimed, writes .pyc): fill {warm['fill_s']:.2f}s")
    timed_runs(runner, "hand-written", args.runs, result, "hand-written", **jobs["hand-written"])
    factory_job = {**jobs["dag-factory"], "fingerprint": prints["dag-factory"]}
    timed_runs(runner, "dag-factory", args.runs, result, "dag-factory", **factory_job)
    # Ours: the first run starts with an empty compile cache; the later runs find whatever it left.
    shutil.rmtree(cache, ignore_errors=True)
    timed_runs(runner, "ours", 1, result, "ours (cold)", **jobs["ours"], fingerprint=prints["ours"])
    result.cache_files = sum(1 for p in cache.rglob("*") if p.is_file()) if cache.exists() else 0
    if result.cache_files:
        log(f"  compile cache detected: {result.cache_files} files under {cache} after the cold run")
    timed_runs(runner, "ours", args.runs, result, "ours", **jobs["ours"])

    compare_fingerprints(prints, n)
    log(f"N={n}: the three variants built identical DAGs (fingerprints of all {n} DAGs match)")

    time_validation(files, args.runs, result, env)
    return result


# ---------------------------------------------------------------------------------------- report


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil
    import yaml

    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(
            f"{p} {_version(p)}"
            for p in (
                "apache-airflow",
                "apache-airflow-providers-amazon",
                "dag-factory",
                "check-jsonschema",
                "jsonschema",
                "botocore",
                "PyYAML",
            )
        )
        + f" (libyaml: {'yes' if yaml.__with_libyaml__ else 'no'})",
    }


def _mb(value: float) -> str:
    return f"{value / 2**20:.0f}"


def report(results: list[SizeResult], args, command: str, runner: Runner, started: float) -> str:
    info = machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    mode = "spawned interpreter per run" if args.spawn else "forked from a server with Airflow imported"
    lines = [
        "# Parse-time benchmark",
        "",
        f"Generated {now} by `{command}` in {time.perf_counter() - started:.0f} s.",
        "",
        f"- Machine: {info['cores']} cores, {info['cpu']}, {info['memory']} RAM, {info['os']}",
        f"- Python {info['python']}; {info['versions']}",
        f"- Load average at the start: {args.load_at_start}; at the end: {load} (1, 5, 15 min). Other "
        "processes on the machine add noise to the timings; compare ratios, and re-run when in doubt.",
        f"- Pipelines: synthetic (benchmarks/synth.py, seed {args.seed}), 4-12 SageMaker tasks each "
        "(processing, training with knn/xgboost/linear-learner, model, transform, endpoint config, "
        f"endpoint), environment `{ENVIRONMENT}`",
        f"- Each run fills a cold `DagBag` in a fresh process ({mode}); only the fill is timed. "
        "Airflow and the SageMaker operator modules are imported before; each variant's own libraries "
        'too, timed separately ("lib imports").',
        "- hand-written: one Python file per DAG, rendered from the compiled configs; one untimed run "
        "first writes the .pyc files. dag-factory: one `load_yaml_dags` YAML per DAG plus one loader "
        "file. ours: a dags folder holding only `sagemaker_pipelines_loader.py`.",
        "- ours (cold) is the first run with an empty compile cache; ours is the median of the runs "
        "after it (what Airflow's periodic re-parse sees); the ratios use it.",
        "- All variants built identical DAGs (fingerprint of DAG args, tasks, operator kwargs, edges).",
        "",
        "## DagBag fill",
        "",
        "| N | variant | runs | median fill (s) | min-max (s) | ms per DAG | peak RSS (MB) "
        "| RSS growth (MB) | lib imports (s) | DAGs | tasks |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        for label in ("hand-written", "dag-factory", "ours (cold)", "ours"):
            runs = res.runs[label]
            fills = [r["fill_s"] for r in runs]
            median = statistics.median(fills)
            growth = statistics.median(r["peak_rss"] - r["rss_before"] for r in runs)
            lines.append(
                f"| {res.n} | {label} | {len(runs)} | {median:.2f} | {min(fills):.2f}-{max(fills):.2f} "
                f"| {1000 * median / res.n:.1f} | {_mb(res.median(label, 'peak_rss'))} | {_mb(growth)} "
                f"| {res.median(label, 'import_s'):.2f} | {runs[0]['dags']} | {runs[0]['tasks']} |"
            )
    lines += [
        "",
        "## Ratios",
        "",
        "| N | ours/hand-written | ours/dag-factory | ours (cold)/hand-written | "
        "memory ours/hand-written | validate/check-jsonschema |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        r = res.ratios()
        cold = res.median("ours (cold)") / res.median("hand-written")
        lines.append(
            f"| {res.n} | {r['ours/hand-written']:.2f} | {r['ours/dag-factory']:.2f} | {cold:.2f} "
            f"| {r['memory ours/hand-written']:.2f} | {r['validate/check-jsonschema']:.2f} |"
        )
    lines += [
        "",
        "## Validation of the N files (wall time of each command, interpreter start included)",
        "",
        "| N | tool | runs | median (s) | ms per file |",
        "|---:|---|---:|---:|---:|",
    ]
    for res in results:
        for tool, times in res.validation.items():
            median = statistics.median(times)
            lines.append(f"| {res.n} | {tool} | {len(times)} | {median:.2f} | {1000 * median / res.n:.1f} |")
    lines += [
        "",
        "ours (check_file) calls `checker.check_file` for every file with the "
        f"`{ENVIRONMENT}` environment (YAML, references, schema, semantics, compile, botocore check); "
        "check-jsonschema checks the schema only, on the raw YAML. Every tool exits 0 on these files. "
        "ours (CLI) is `make validate` as users run it (worker processes, one per core) with its cache "
        "off; check_file is the same work in one process. "
        "The ratio uses the CLI when it exists, else check_file. Commands:",
        "",
        *(f"- {tool}: `{command}`" for tool, command in results[-1].commands.items()),
    ]
    if not CLI_FILE.exists():
        lines.append(
            "The CLI (`src/sagemaker_pipelines/toolkit/cli.py`) did not exist yet, so it was not timed."
        )
    notes = [n for res in results for n in res.notes]
    cache_lines = [f"N={res.n}: {res.cache_files} files" for res in results if res.cache_files]
    if cache_lines:
        notes.append("Compile cache detected after the cold run (" + "; ".join(cache_lines) + ").")
    else:
        notes.append("No compile cache files were written by the loader: warm runs redo all the work.")
    if runner.airflow_import_s is not None:
        notes.append(
            f"Importing Airflow and the operator modules (untimed) took {runner.airflow_import_s:.1f} s."
        )
    lines += ["", "## Notes", "", *(f"- {n}" for n in notes), "", "## Final lines", "", "```"]
    lines += [res.final_line() for res in results]
    lines += ["```", ""]
    return "\n".join(lines)


def child_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "AIRFLOW__CORE__DAGS_FOLDER"):
        env.pop(name, None)
    env.update(
        {
            "AIRFLOW_HOME": str(workdir / "airflow_home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",  # no network calls from dag-factory
            "DO_NOT_TRACK": "1",
            "SCARF_NO_ANALYTICS": "true",
        }
    )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant and N (default 3)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here (default: a temp dir)")
    parser.add_argument("--spawn", action="store_true", help="a new interpreter per run instead of fork")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or args.runs < 1:
        parser.error("--sizes needs positive integers and --runs at least 1")

    args.load_at_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    command = "benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sagemaker-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(workdir)
    runner = Runner(workdir, env, args.spawn)
    results = []
    try:
        runner.start()
        for n in sizes:
            results.append(bench_size(n, args, runner, workdir / f"n{n}", env))
    except BenchError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        print(f"(files kept in {workdir})", file=sys.stderr)
        return 1
    finally:
        runner.close()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)

    text = report(results, args, command.strip(), runner, started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print()
    print(text.split("## DagBag fill", 1)[1].split("## Final lines", 1)[0].strip())
    print(f"\nwritten to {args.out}")
    for res in results:
        print(res.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
