"""What one benchmark run measured at each N, its ratios and final lines, and RESULTS.md written from it."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from dag_processor import PassResult

ENVIRONMENT = "local"
REFERENCE_LABEL = "ours, N=10"  # task start of the same files in a project of 10 pipelines
DAGBAG_LABELS = (
    "hand-written",
    "dag-factory",
    "ours (cold)",
    "ours",
    "read-only (cold)",
    "read-only",
    "new folder",
    "image-warmed",
)
# ratio key -> (DagBag series, reference series): their runs alternate by round, so each round is a ratio.
PAIRED = {
    "ours/hand-written": ("ours", "hand-written"),
    "cold/hand-written": ("ours (cold)", "hand-written"),
    "read-only/hand-written": ("read-only", "hand-written"),
    "read-only cold/hand-written": ("read-only (cold)", "hand-written"),
    "new folder/hand-written": ("new folder", "hand-written"),
    "image-warmed/hand-written": ("image-warmed", "hand-written"),
}


# task-start series -> its ratio key against the hand-written files is "task-start<suffix>/hand-written"
TASK_START_SUFFIX = {
    "ours": "",
    "ours (no cache)": " no cache",
    "read-only": " read-only",
    "image-warmed": " image-warmed",
}


@dataclass
class SizeResult:
    n: int
    tasks: int = 0
    runs: dict[str, list[dict]] = field(default_factory=dict)  # variant -> timed runs
    validation: dict[str, list[float]] = field(default_factory=dict)  # tool -> wall seconds
    notes: list[str] = field(default_factory=list)
    cache_files: int = 0
    commands: dict[str, str] = field(default_factory=dict)  # validation tool -> command line
    task_start: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # label -> file -> s
    passes: dict[str, PassResult] = field(default_factory=dict)  # label -> dag-processor pass

    def median(self, variant: str, key: str = "fill_s") -> float:
        return statistics.median(r[key] for r in self.runs[variant])

    def task_start_s(self, variant: str = "ours") -> float:
        """Mean over the task-start files of each file's median load time."""
        return statistics.mean(statistics.median(t) for t in self.task_start[variant].values())

    def ratios(self) -> dict[str, float]:
        validator = "ours (CLI)" if "ours (CLI)" in self.validation else "ours (check_file)"
        return {
            "ours/hand-written": self.median("ours") / self.median("hand-written"),
            "ours/dag-factory": self.median("ours") / self.median("dag-factory"),
            "validate/check-jsonschema": statistics.median(self.validation[validator])
            / statistics.median(self.validation["check-jsonschema"]),
            "memory ours/hand-written": self.median("ours", "peak_rss")
            / self.median("hand-written", "peak_rss"),
            "cold/hand-written": self.median("ours (cold)") / self.median("hand-written"),
            "task-start": self.task_start_s() / self.task_start_s(REFERENCE_LABEL),
            **{
                key: self.median(ours) / self.median(reference)
                for key, (ours, reference) in PAIRED.items()
                if ours in self.runs
            },
            **{
                f"task-start{suffix}/hand-written": self.task_start_s(label)
                / self.task_start_s("hand-written")
                for label, suffix in TASK_START_SUFFIX.items()
                if label in self.task_start and "hand-written" in self.task_start
            },
        }

    def spreads(self) -> dict[str, tuple[float, float]]:
        """Ratio key -> lowest and highest ratio of one round's runs, where runs pair up by round."""
        found = {}
        for key, (ours, reference) in PAIRED.items():
            if ours in self.runs and reference in self.runs:
                pairs = zip(self.runs[ours], self.runs[reference], strict=False)
                ratios = [a["fill_s"] / b["fill_s"] for a, b in pairs]
                if len(ratios) > 1:
                    found[key] = (min(ratios), max(ratios))
        return found

    def pass_ratios(self) -> dict[str, float]:
        hand = self.passes["hand-written"].wall_s
        return {
            "ours/hand-written": self.passes["ours"].wall_s / hand,
            "cold/hand-written": self.passes["ours (cold)"].wall_s / hand,
            "first": self.passes["ours first (cold)"].wall_s / self.passes["hand-written first"].wall_s,
        }

    def slowest_file(self) -> PassResult:
        return max(self.passes.values(), key=lambda p: p.parse_max_s)

    def final_line(self) -> str:
        r = self.ratios()
        return (
            f"bench N={self.n} ours/hand-written={r['ours/hand-written']:.2f} "
            f"ours/dag-factory={r['ours/dag-factory']:.2f} "
            f"validate/check-jsonschema={r['validate/check-jsonschema']:.2f} "
            f"memory ours/hand-written={r['memory ours/hand-written']:.2f} "
            f"cold/hand-written={r['cold/hand-written']:.2f} task-start={r['task-start']:.2f}"
        )

    def dag_processor_line(self) -> str:
        r = self.pass_ratios()
        wall = {label: f"{done.wall_s:.1f}s" for label, done in self.passes.items()}
        return (
            f"dag-processor N={self.n} ours/hand-written={r['ours/hand-written']:.2f} "
            f"cold/hand-written={r['cold/hand-written']:.2f} "
            f"hand-written={wall['hand-written']} ours={wall['ours']} cold={wall['ours (cold)']} "
            f"slowest-file={self.slowest_file().parse_max_s:.2f}s"
        )


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


def _header(args, command: str, started: float, task_start: tuple[int, int]) -> list[str]:
    info = machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    mode = "spawned interpreter per run" if args.spawn else "forked from a server with Airflow imported"
    files, reps = task_start
    return [
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
        f"- Each DagBag run fills a cold `DagBag` in a fresh process ({mode}); only the fill is timed. "
        "Airflow and the SageMaker operator modules are imported before; each variant's own libraries "
        'too, timed separately ("lib imports").',
        "- hand-written: one Python file per DAG, rendered from the compiled configs; one untimed run "
        "first writes the .pyc files. dag-factory: one `load_yaml_dags` YAML per DAG plus one loader "
        "file. ours: one generated DAG file per pipeline, as `make sync` writes them.",
        "- ours (cold): each run starts with an empty compile cache (as after any change of our code, the "
        "schema or the lock). ours: the runs after them, with the cache they left (what Airflow's "
        "periodic re-parse sees); the warm ratios use it.",
        "- read-only: the bundle without write bits (an image layer), its cache in the user's folder; "
        "(cold) from an empty one. new folder: the same files at another path (a Git bundle's next "
        "version) with the entries the first folder left. image-warmed: a fresh pod of an image whose "
        "build ran `validate --env local --build` over the bundle (docs/deploy.md); every run, DagBag "
        "fill and task start alike, starts from the cache exactly as that command left it, and no run may "
        "write an entry or a built marker of its own.",
        "- All variants built identical DAGs (fingerprint of DAG args, tasks, operator kwargs, edges).",
        f"- Task start: what a task runner loads, the DAG file of its task. For each of the first {files} "
        f"pipelines (the same files at every N), {reps} fresh processes (forked from the server) each "
        "import the `airflow.*` modules the DAG file names, as the dag-processor pre-imports them "
        "(untimed), then load that one file into a DagBag (timed: our package's imports included); ours "
        "with a warm cache. The figure is the mean of the files' medians; `task-start` is ours at N "
        f"divided by the same files in a project of 10 pipelines (`{REFERENCE_LABEL}`), whose runs take "
        "turns with those of N so that both see the same load.",
        f"- dag-processor: one real `airflow dag-processor --num-runs 1` per pass, `[dag_processor] "
        f"parsing_processes` = {args.parsing_processes} (the default here), SQLite, "
        "`AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL=0`, Airflow's default timeouts "
        "(`dagbag_import_timeout` 30 s). Each variant has its own AIRFLOW_HOME whose database "
        "`airflow db migrate` made once; each N starts from a copy of it. The first pass of a variant "
        "writes every DAG into the empty database; the re-parse passes after it are what Airflow repeats. "
        "ours (cold) is a re-parse with the compile cache emptied first. Wall time includes the "
        "processor's start-up; after each pass the database must hold all N DAGs, active, parsed in that "
        'pass, and no import error. "files" is the sum of Airflow\'s per-file durations '
        '(`dag.last_parse_duration`: fork to result) and "slowest" the longest one.',
        "",
    ]


def _dagbag_section(results: list[SizeResult]) -> list[str]:
    lines = [
        "## DagBag fill",
        "",
        "| N | variant | runs | median fill (s) | min-max (s) | ms per DAG | peak RSS (MB) "
        "| RSS growth (MB) | lib imports (s) | DAGs | tasks |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        for label in (label for label in DAGBAG_LABELS if label in res.runs):
            runs = res.runs[label]
            fills = [r["fill_s"] for r in runs]
            median = statistics.median(fills)
            growth = statistics.median(r["peak_rss"] - r["rss_before"] for r in runs)
            lines.append(
                f"| {res.n} | {label} | {len(runs)} | {median:.2f} | {min(fills):.2f}-{max(fills):.2f} "
                f"| {1000 * median / res.n:.1f} | {_mb(res.median(label, 'peak_rss'))} | {_mb(growth)} "
                f"| {res.median(label, 'import_s'):.2f} | {runs[0]['dags']} | {runs[0]['tasks']} |"
            )
    return lines


def _ratios_section(results: list[SizeResult]) -> list[str]:
    lines = [
        "",
        "## Ratios",
        "",
        "| N | ours/hand-written | ours (cold)/hand-written | ours/dag-factory | memory ours/hand-written "
        "| validate/check-jsonschema | task-start (vs N=10) | dag-processor ours/hand-written "
        "| dag-processor cold/hand-written |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        r = res.ratios()
        p = {k: f"{v:.2f}" for k, v in res.pass_ratios().items()} if res.passes else {}
        lines.append(
            f"| {res.n} | {r['ours/hand-written']:.2f} | {r['cold/hand-written']:.2f} "
            f"| {r['ours/dag-factory']:.2f} | {r['memory ours/hand-written']:.2f} "
            f"| {r['validate/check-jsonschema']:.2f} | {r['task-start']:.2f} "
            f"| {p.get('ours/hand-written', 'not run')} | {p.get('cold/hand-written', 'not run')} |"
        )
    return lines


def _task_start_section(results: list[SizeResult]) -> list[str]:
    lines = [
        "",
        "## Task start (one DAG file in a fresh process)",
        "",
        "| N | variant | files | runs per file | ms per DAG file | medians of the files (ms) | vs N=10 "
        "| vs hand-written |",
        "|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for res in results:
        for variant, per_file in res.task_start.items():
            medians = ", ".join(f"{1000 * statistics.median(t):.0f}" for t in per_file.values())
            reps = len(next(iter(per_file.values())))
            ratio = f"{res.ratios()['task-start']:.2f}" if variant == "ours" else ""
            versus = res.ratios().get(f"task-start{TASK_START_SUFFIX.get(variant, '?')}/hand-written")
            ratio = f"{ratio} | {versus:.2f}" if versus is not None else f"{ratio} | "
            lines.append(
                f"| {res.n} | {variant} | {len(per_file)} | {reps} | {1000 * res.task_start_s(variant):.1f} "
                f"| {medians} | {ratio} |"
            )
    return lines


def _dag_processor_section(results: list[SizeResult]) -> list[str]:
    lines = [
        "",
        "## dag-processor pass (`airflow dag-processor --num-runs 1`)",
        "",
        "| N | pass | wall (s) | files, sum (s) | slowest file (s) | slowest DAG | DAGs |",
        "|---:|---|---:|---:|---:|---|---:|",
    ]
    for res in results:
        for label, done in res.passes.items():
            lines.append(
                f"| {res.n} | {label} | {done.wall_s:.1f} | {done.parse_sum_s:.1f} | {done.parse_max_s:.2f} "
                f"| {done.slowest} | {done.dags} |"
            )
    if not any(res.passes for res in results):
        lines += ["", "Not run (`--no-dag-processor`)."]
    return lines


def _validation_section(results: list[SizeResult], cli_exists: bool) -> list[str]:
    lines = [
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
    if not cli_exists:
        lines.append(
            "The CLI (`src/sagemaker_pipelines/toolkit/cli.py`) did not exist yet, so it was not timed."
        )
    return lines


def report(
    results: list[SizeResult],
    args,
    command: str,
    started: float,
    notes: list[str],
    cli_exists: bool,
    task_start: tuple[int, int],
) -> str:
    """RESULTS.md: setup, one section per measurement, notes and the final lines."""
    from goals import goals_section

    lines = _header(args, command, started, task_start)
    lines += (
        goals_section(results)
        + _dagbag_section(results)
        + _ratios_section(results)
        + _task_start_section(results)
    )
    lines += _dag_processor_section(results) + _validation_section(results, cli_exists)
    notes = [n for res in results for n in res.notes] + notes
    cache_lines = [f"N={res.n}: {res.cache_files} files" for res in results if res.cache_files]
    if cache_lines:
        notes.append("Compile cache detected after a cold run (" + "; ".join(cache_lines) + ").")
    else:
        notes.append("No compile cache files were written by the loader: warm runs redo all the work.")
    lines += ["", "## Notes", "", *(f"- {n}" for n in notes), "", "## Final lines", "", "```"]
    for res in results:
        lines += [res.dag_processor_line(), res.final_line()] if res.passes else [res.final_line()]
    lines += ["```", ""]
    return "\n".join(lines)
