"""Parse-time benchmark: our YAML loader against hand-written DAG files and plain dag-factory YAML.

    .venv/bin/python benchmarks/bench.py [--sizes 10,100,1000] [--runs 3] [--out benchmarks/RESULTS.md]
    make bench [N=1000]          # N=5000 works too: not a default, it takes several times as long

For each size N it generates N synthetic pipelines (seeded, 4-12 SageMaker tasks each), checks and
compiles every one of them with ``checker.check_file`` (the benchmark stops if any is invalid), and
writes the same DAGs two more ways from the compiled configs: hand-written Python files and
dag-factory ``load_yaml_dags`` YAML; ours is one generated DAG file per pipeline, as ``make sync``
writes them. Then:

1. for each variant, it fills a cold Airflow ``DagBag`` in a fresh process several times (see
   ``dagbag_child.py``), ours both with an empty compile cache (cold) and with the cache those runs
   left (warm, what Airflow's periodic re-parse sees), and checks that exactly N DAGs and no import
   errors came out and that the three variants built equal DAGs; ours again as production ships it
   (``bundle.py``): a read-only bundle whose cache goes to the user's folder, cold and warm, and the
   same files checked out into a new folder (a Git bundle's next version) with the cache the first
   folder left, and a fresh pod of an image whose build ran ``validate`` over the bundle;
2. task start: the time to load one DAG file in a fresh process that has imported what the
   dag-processor pre-imports, for the same first pipelines at every N, against the hand-written file:
   ours with a warm cache, with no cache (a fresh worker pod), from the read-only bundle, from the
   image-warmed cache, and ours at N=10 (that the cost does not grow with N);
3. one real ``airflow dag-processor --num-runs 1`` pass per variant and cache state (see
   ``dag_processor.py``), wall time and Airflow's own per-file durations;
4. the validation of the N files by our checker against ``check-jsonschema``.

The table goes to RESULTS.md; stdout prints every ratio against its goal (``goals.py``) and ends with
two lines per N (each one line):

    dag-processor N=1000 ours/hand-written=1.02 cold/hand-written=1.20 hand-written=250.1s ours=255.3s \
cold=300.2s slowest-file=0.95s
    bench N=1000 ours/hand-written=1.21 ours/dag-factory=0.18 validate/check-jsonschema=0.40 \
memory ours/hand-written=1.05 cold/hand-written=2.10 task-start=1.01
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
for entry in (str(BENCH_DIR), str(PROJECT), str(PROJECT / "src")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import bundle  # noqa: E402
import dag_processor  # noqa: E402
import render  # noqa: E402
import synth  # noqa: E402
from goals import goal_lines  # noqa: E402
from results import ENVIRONMENT, REFERENCE_LABEL, SizeResult, report  # noqa: E402

SCHEMA = PROJECT / "schemas" / "pipeline.schema.json"
CLI_FILE = PROJECT / "src" / "sagemaker_pipelines" / "toolkit" / "cli.py"
# Timed runs of one variant (or validator) stop at about this many seconds, at least one run: keeps the
# default run (N=10,100,1000) around 10 minutes on 2 cores while small sizes get all their runs.
RUN_BUDGET_S = 90.0
VALIDATION_BUDGET_S = 50.0
VARIANTS = ("hand-written", "dag-factory", "ours")
# Task start: these first pipelines exist at every N and are the same files (synth is seeded per index).
TASK_START_FILES = 5
TASK_START_REPS = 7  # default runs per file: medians of 7 fresh processes are steady
TASK_START_REFERENCE_N = 10
# dag-processor passes: (label, home, empty the compile cache first). The first pass of each variant
# fills the empty database; the re-parse passes after it are what Airflow repeats every 30 seconds.
PASSES = (
    ("hand-written first", "hand-written", False),
    ("ours first (cold)", "ours", True),
    ("hand-written", "hand-written", False),
    ("ours", "ours", False),
    ("ours (cold)", "ours", True),
)


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


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Timed:
    """One labelled series of DagBag runs: ``before`` runs untimed before each (e.g. empty the cache)."""

    label: str
    variant: str
    job: dict
    before: Callable[[], None] | None = None


def timed_runs(runner: Runner, runs: int, result: SizeResult, *series: Timed) -> None:
    """``runs`` rounds of one run of each series in turn (fewer rounds when a round is slow), so that
    the load of a shared machine drifts over all of them alike; a job's fingerprint is taken once."""
    done: dict[str, list[dict]] = {s.label: [] for s in series}
    target = runs
    for round_number in range(1, runs + 1):
        if round_number > target:
            break
        for one in series:
            if one.before is not None:
                one.before()
            r = runner.run(one.variant, **one.job)
            check_run(r, result.n, f"{one.label} run {round_number}")
            done[one.label].append(r)
            log(
                f"  {one.label:<13} run {round_number}: fill {r['fill_s']:.2f}s, "
                f"peak RSS {r['peak_rss'] / 2**20:.0f} MB"
            )
            one.job.pop("fingerprint", None)
        if round_number == 1:
            first = sum(d[0]["fill_s"] for d in done.values())
            label = " + ".join(done) if len(done) > 1 else next(iter(done))
            target = budgeted_runs(runs, first, result, label, RUN_BUDGET_S * len(series))
    result.runs.update(done)


def budgeted_runs(
    runs: int, first_s: float, result: SizeResult, label: str, budget: float = RUN_BUDGET_S
) -> int:
    """Fewer runs for slow variants, so the default run stays well under 15 minutes on 2 cores."""
    target = min(runs, max(1, int(budget // max(first_s, 1e-9))))
    if target < runs:
        result.notes.append(
            f"N={result.n}: {label} took {first_s:.0f} s per run (per round: one run of each), so it had "
            f"{target} timed run{'s' if target > 1 else ''} instead of {runs} (budget {budget:.0f} s)"
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


def ours_job(root: Path, folder: Path, pipelines: Path, cache: Path) -> dict:
    """The DagBag job of our variant: its DAG folder, where its pipelines and compile cache are."""
    package_path = [str(PROJECT / "src"), str(PROJECT)]
    return {
        "folder": folder,
        "env": {
            "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
            "SAGEMAKER_PIPELINES_DIR": str(pipelines),
            "SAGEMAKER_PIPELINES_ENV": ENVIRONMENT,
            "SAGEMAKER_PIPELINES_CACHE_DIR": str(cache),
            "SAGEMAKER_LOCAL_DIR": str(root / "local"),
            "PYTHONPATH": os.pathsep.join(package_path),
        },
        "sys_path": package_path,
    }


def bundle_job(folder: Path, user_cache: Path) -> dict:
    """The DagBag job of a read-only bundle: nothing says where the cache is, so the loader picks the
    user's cache folder (``user_cache`` here, as ``$XDG_CACHE_HOME``)."""
    package_path = [str(PROJECT / "src"), str(PROJECT)]
    return {
        "folder": folder / "dags",
        "env": {
            "AIRFLOW__CORE__DAGS_FOLDER": str(folder / "dags"),
            "SAGEMAKER_PIPELINES_ENV": ENVIRONMENT,
            "XDG_CACHE_HOME": str(user_cache),
            "PYTHONPATH": os.pathsep.join(package_path),
        },
        "sys_path": package_path,
    }


def image_warmed(bundle_folder: Path, user_cache: Path, env: dict[str, str], n: int) -> Callable[[], None]:
    """The user cache an image carries when its build ran ``validate --build`` over the bundle it copied in
    (docs/deploy.md), made once here in a fresh process; returns what puts ``user_cache`` back in that
    state, untimed before each run, since every pod starts from the image as it was built."""
    image = user_cache.with_name(f"{user_cache.name}-as-built")
    shutil.rmtree(image, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "sagemaker_pipelines.toolkit",
        "validate",
        "--env",
        ENVIRONMENT,
        "--build",
    ]
    done = subprocess.run(
        [*command, str(bundle_folder / "pipelines")],
        env={
            **env,
            "XDG_CACHE_HOME": str(image),
            "SAGEMAKER_PIPELINES_ROOT": str(bundle_folder),
            "PYTHONPATH": str(PROJECT / "src"),
        },
        cwd=bundle_folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"validate at image build: exit {done.returncode}\n{done.stdout}{done.stderr}")
    answered_from(image, n, "validate at image build")

    def restore() -> None:
        shutil.rmtree(user_cache, ignore_errors=True)
        shutil.copytree(image, user_cache, symlinks=True)

    return restore


def answered_from(user_cache: Path, n: int, what: str) -> None:
    """Fail unless ``user_cache`` holds one entry and one built marker per pipeline and one entry of the
    environment: what ``validate --build`` writes at image build, and all the runs from it may read (a
    run that missed would add an entry; one that validated a DAG again, a marker)."""
    entries = [p.name for p in user_cache.rglob("*.json")]
    environments = sum(name.startswith("env-") for name in entries)
    built = len(list(user_cache.rglob("*.built")))
    if (len(entries) - environments, environments, built) != (n, 1, n):
        raise BenchError(
            f"{what}: {len(entries) - environments} pipeline and {environments} environment entries and "
            f"{built} built markers in the cache, not {n}, 1 and {n}"
        )


def measure_task_start(
    runner: Runner, result: SizeResult, jobs: dict[str, tuple[str, dict]], reps: int = TASK_START_REPS
) -> None:
    """What a task runner loads: one DAG file, in a fresh process that has imported the ``airflow.*``
    modules the file names, for each of the first pipelines, several times; ours with a warm cache.
    ``jobs``: label -> (variant, DagBag job); the runs take turns, so load drifts over all alike. A job's
    ``before`` runs untimed before each of its runs (a fresh pod's cache as its image has it)."""
    times: dict[str, dict[str, list[float]]] = {label: {} for label in jobs}
    for _ in range(reps):
        for index in range(min(TASK_START_FILES, result.n)):
            for label, (variant, job) in jobs.items():
                job = dict(job)
                if (before := job.pop("before", None)) is not None:
                    before()
                dag_file = job["folder"] / f"{synth.dag_id(index)}.py"
                r = runner.run(variant, **{**job, "folder": dag_file}, task_start=True)
                check_run(r, 1, f"task start of {dag_file.name} ({label})")
                times[label].setdefault(dag_file.stem, []).append(r["fill_s"])
    result.task_start.update(times)
    for label in jobs:
        log(f"  task start    {label:<13}: {1000 * result.task_start_s(label):.1f} ms per DAG file")


def task_start_reference(args, runner: Runner, root: Path) -> dict:
    """The project of N=10 pipelines whose task start is the ratio's denominator at every N, measured
    in turn with each N's own: its DAG folder and a warm cache."""
    files = synth.write_pipelines(root / "pipelines", TASK_START_REFERENCE_N, args.seed)
    job = ours_job(root, root / "ours_dags", root / "pipelines", root / "compile-cache")
    write_dag_files(files, job["folder"])
    check_run(runner.run("ours", **job), len(files), "task-start reference warm-up")  # fills the cache
    return job


def dag_processor_passes(
    result: SizeResult, homes: dict[str, dag_processor.AirflowHome], jobs: dict[str, dict], cache: Path
) -> None:
    """The passes of PASSES, each variant from its freshly migrated database."""
    expected = {synth.dag_id(i) for i in range(result.n)}
    for home in homes.values():
        home.reset()
    for label, variant, empty_cache in PASSES:
        if empty_cache:
            shutil.rmtree(cache, ignore_errors=True)
        env = {k: v for k, v in jobs[variant]["env"].items() if k != "AIRFLOW__CORE__DAGS_FOLDER"}
        done = homes[variant].run_pass(label, jobs[variant]["folder"], expected, env)
        result.passes[label] = done
        log(
            f"  dag-processor {label:<19}: {done.wall_s:.1f}s wall, files {done.parse_sum_s:.1f}s in all, "
            f"slowest {done.parse_max_s:.2f}s ({done.slowest})"
        )


def bench_size(
    n: int,
    args,
    runner: Runner,
    root: Path,
    env: dict[str, str],
    homes: dict[str, dag_processor.AirflowHome],
    reference: dict,
) -> SizeResult:
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
    first_version = bundle.write_bundle(root / "bundles" / "v1", files)
    next_version = bundle.new_version(first_version, root / "bundles" / "v2")
    user_cache = root / "user-cache"
    pod_cache = root / "pod-cache"

    jobs = {
        "hand-written": {"folder": hand, "env": {"AIRFLOW__CORE__DAGS_FOLDER": str(hand)}, "sys_path": []},
        "dag-factory": {
            "folder": factory,
            "env": {"AIRFLOW__CORE__DAGS_FOLDER": str(factory)},
            "sys_path": [],
        },
        "ours": ours_job(root, ours, pipelines, cache),
        "read-only": bundle_job(first_version, user_cache),
        "new folder": bundle_job(next_version, user_cache),
        "image-warmed": bundle_job(first_version, pod_cache),
    }
    prints = {v: root / f"fingerprint-{v}.json" for v in VARIANTS}

    # Hand-written: one untimed run first, so the timed runs read cached bytecode as Airflow would.
    warm = runner.run("hand-written", **jobs["hand-written"], fingerprint=prints["hand-written"])
    check_run(warm, n, "hand-written warm-up")
    log(f"  hand-written  warm-up (untimed, writes .pyc): fill {warm['fill_s']:.2f}s")
    factory_job = {**jobs["dag-factory"], "fingerprint": prints["dag-factory"]}
    timed_runs(runner, args.runs, result, Timed("dag-factory", "dag-factory", factory_job))
    # Rounds of hand-written, ours cold (each run from an empty compile cache) and ours (the cache that
    # cold run left: what Airflow's periodic re-parse sees), so the ratios compare runs minutes apart.
    timed_runs(
        runner,
        args.runs,
        result,
        Timed("hand-written", "hand-written", dict(jobs["hand-written"])),
        Timed(
            "ours (cold)",
            "ours",
            {**jobs["ours"], "fingerprint": prints["ours"]},
            before=lambda: shutil.rmtree(cache, ignore_errors=True),
        ),
        Timed("ours", "ours", dict(jobs["ours"])),
    )
    # The production shapes: a read-only bundle from an empty user cache, then warm, then the same files
    # in a new folder (a Git bundle's next version) with the entries the first folder left; and a fresh
    # pod of an image whose build ran validate over the bundle.
    from_image = image_warmed(first_version, pod_cache, env, n)
    timed_runs(
        runner,
        args.runs,
        result,
        Timed(
            "read-only (cold)",
            "ours",
            dict(jobs["read-only"]),
            before=lambda: shutil.rmtree(user_cache, ignore_errors=True),
        ),
        Timed("read-only", "ours", dict(jobs["read-only"])),
        Timed("new folder", "ours", dict(jobs["new folder"])),
        Timed("image-warmed", "ours", dict(jobs["image-warmed"]), before=from_image),
    )
    answered_from(pod_cache, n, "image-warmed DagBag fill")
    if any(bundle_path.exists() for bundle_path in (first_version / ".local", next_version / ".local")):
        raise BenchError("the loader wrote into a read-only bundle")
    result.cache_files = sum(1 for p in cache.rglob("*") if p.is_file()) if cache.exists() else 0
    if result.cache_files:
        log(f"  compile cache detected: {result.cache_files} files under {cache} after a cold run")

    compare_fingerprints(prints, n)
    log(f"N={n}: the three variants built identical DAGs (fingerprints of all {n} DAGs match)")

    no_cache = {**jobs["ours"], "env": {**jobs["ours"]["env"], "SAGEMAKER_PIPELINES_CACHE_DIR": "off"}}
    task_start_jobs = {
        "hand-written": ("hand-written", jobs["hand-written"]),
        "ours": ("ours", jobs["ours"]),
        "ours (no cache)": ("ours", no_cache),
        "read-only": ("ours", jobs["read-only"]),
        "image-warmed": ("ours", {**jobs["image-warmed"], "before": from_image}),
        REFERENCE_LABEL: ("ours", reference),
    }
    measure_task_start(runner, result, task_start_jobs, args.task_start_runs)
    answered_from(pod_cache, n, "image-warmed task start")
    time_validation(files, args.runs, result, env)
    if homes:
        dag_processor_passes(result, homes, jobs, cache)
    bundle.remove(root / "bundles")
    return result


# -------------------------------------------------------------------------------------------- main


def child_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "AIRFLOW__CORE__DAGS_FOLDER"):
        env.pop(name, None)
    for name in [n for n in env if n.startswith(("SAGEMAKER_PIPELINES_", "SAGEMAKER_LOCAL_", "XDG_CACHE"))]:
        env.pop(name)  # the runs say where the project and its cache are, or leave it to the loader
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
    parser.add_argument(
        "--task-start-runs",
        type=int,
        default=TASK_START_REPS,
        help=f"fresh processes per DAG file for task start (default {TASK_START_REPS})",
    )
    parser.add_argument(
        "--no-dag-processor", action="store_true", help="skip the dag-processor passes (quick runs)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or args.runs < 1 or args.task_start_runs < 1:
        parser.error("--sizes needs positive integers, --runs and --task-start-runs at least 1")

    args.load_at_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    command = "benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sagemaker-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(workdir)
    runner = Runner(workdir, env, args.spawn)
    homes = {
        v: dag_processor.AirflowHome(workdir / f"dag-processor-{v}", env) for v in ("hand-written", "ours")
    }
    if args.no_dag_processor:
        homes = {}
    results = []
    try:
        runner.start()
        migrations = {variant: home.migrate() for variant, home in homes.items()}
        args.migrate_s = ", ".join(f"{v}: {s:.0f} s" for v, s in migrations.items()) or "not run"
        log(f"airflow db migrate for the dag-processor passes: {args.migrate_s}")
        args.parsing_processes = homes["ours"].config("dag_processor", "parsing_processes") if homes else "-"
        reference = task_start_reference(args, runner, workdir / f"task-start-n{TASK_START_REFERENCE_N}")
        for n in sizes:
            results.append(bench_size(n, args, runner, workdir / f"n{n}", env, homes, reference))
    except (BenchError, dag_processor.PassError) as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        print(f"(files kept in {workdir})", file=sys.stderr)
        return 1
    finally:
        runner.close()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)

    notes = []
    if runner.airflow_import_s is not None:
        notes.append(
            f"Importing Airflow and the operator modules (untimed) took {runner.airflow_import_s:.1f} s."
        )
    notes.append(f"airflow db migrate (untimed, once per variant) took {args.migrate_s}.")
    task_start = (TASK_START_FILES, args.task_start_runs)
    text = report(results, args, command.strip(), started, notes, CLI_FILE.exists(), task_start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print()
    print(text.split("## DagBag fill", 1)[1].split("## Final lines", 1)[0].strip())
    print(f"\nwritten to {args.out}\n")
    for res in results:
        print("\n".join(goal_lines(res)))
    print()
    for res in results:
        if res.passes:
            print(res.dag_processor_line())
        print(res.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
