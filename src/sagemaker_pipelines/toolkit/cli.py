"""``sagemaker-pipelines <command>`` (``python -m sagemaker_pipelines.toolkit``): the toolkit.

Each command lives in its own module and is imported only when run, so ``validate`` never pays for
Airflow, Graphviz or the code generator. Exit status: 0 success, 1 invalid pipelines (or stale docs),
2 a bad command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sagemaker_pipelines.format.environment import DEFAULT_ENVIRONMENT, ENV_VARIABLE

USAGE_ERROR = 2

_DESCRIPTION = "Declarative Amazon SageMaker pipelines on Airflow: validate, inspect and generate them."


class CommandError(Exception):
    """A usage problem found after argument parsing (unknown pipeline, bad name): exit status 2."""


def default_environment() -> str:
    """``$SAGEMAKER_PIPELINES_ENV`` or ``local``; unlike the DAG loader, never asks Airflow."""
    return os.environ.get(ENV_VARIABLE) or DEFAULT_ENVIRONMENT


def _add_env(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument(
        "--env",
        metavar="NAME",
        default=None,
        help=help_text or f"environment of environments/ (default: ${ENV_VARIABLE} or {DEFAULT_ENVIRONMENT})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sagemaker-pipelines", description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "validate",
        help="check pipelines in every environment",
        description="Check pipeline files (default: all under pipelines/) in every environment of "
        "environments/, or only in --env. Exit 0 when all are valid, 1 when any is not.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="pipeline files or folders (default: all)")
    p.add_argument(
        "--format",
        choices=("human", "json", "github"),
        default="human",
        help="human: one line per problem (default); json: machine-readable; "
        "github: GitHub Actions annotations",
    )
    _add_env(p, "check only in this environment (default: every environment)")
    p.add_argument("--no-cache", action="store_true", help="ignore the compile cache under .local/")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default: CPUs)")

    p = commands.add_parser(
        "render",
        help="show what a pipeline becomes: DAG, operators, full SageMaker requests",
        description="Print a pipeline's DAG arguments and, per task, its kind, operator class, "
        "dependencies and operator arguments, with every SageMaker request in full.",
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name (file stem under pipelines/) or path")
    _add_env(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")

    p = commands.add_parser(
        "graph",
        help="draw a pipeline's task graph (SVG, PNG, Mermaid)",
        description="Write <out>/<dag_id>.svg and .png (Graphviz) and .mmd (Mermaid) of a pipeline's "
        "tasks; each node shows the task id, its kind and instance type.",
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="pipeline name (file stem under pipelines/) or path")
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="output folder (default: docs/graphs)"
    )
    _add_env(p)

    p = commands.add_parser(
        "compile",
        help="write pipelines as plain Python DAG files",
        description="Write each pipeline as a readable, ruff-formatted Python DAG file that builds the "
        "same DAG as the YAML loader, for one environment: its bucket, role and connection are written "
        "into the files. A local (emulator) environment needs --allow-local.",
    )
    p.add_argument("pipelines", nargs="*", metavar="PIPELINE", help="names or paths (default: all)")
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="output folder (default: build/compiled_dags)"
    )
    _add_env(p, f"environment the files are for (default: ${ENV_VARIABLE} or {DEFAULT_ENVIRONMENT})")
    p.add_argument(
        "--allow-local",
        action="store_true",
        help="compile for a local environment (the emulator on 127.0.0.1)",
    )

    p = commands.add_parser(
        "new",
        help="start a pipeline from a template",
        description="Write pipelines/NAME.yaml from a template; it validates as written.",
    )
    p.add_argument("name", metavar="NAME", help="the new pipeline's DAG id (letters, digits, _ . -)")
    p.add_argument(
        "--template",
        choices=("training", "batch-inference", "deploy"),
        default="training",
        help="what the pipeline does (default: training)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = commands.add_parser(
        "sync",
        help="write one Airflow DAG file per pipeline into dags/",
        description="Write dags/<dag_id>.py for every pipeline whose DAG file is missing or stale, and "
        "remove generated DAG files whose pipeline is gone.",
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything would change")

    p = commands.add_parser(
        "docs",
        help="generate docs/pipeline-reference.md from the schemas",
        description="Write docs/pipeline-reference.md from schemas/pipeline.schema.json and "
        "schemas/environment.schema.json.",
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is stale")

    p = commands.add_parser(
        "schemas",
        help="regenerate the schemas' generated parts and the editors' view",
        description="Rewrite compile/image_data.json (the SageMaker SDK's image data), the generated "
        "lists of schemas/pipeline.schema.json (instance types from botocore; algorithms, regions and "
        "framework versions) and schemas/pipeline.authored.schema.json, the schema editors use.",
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    p.add_argument(
        "--sdk-wheel", type=Path, metavar="WHEEL", help="read a sagemaker-core wheel, not the installed one"
    )

    p = commands.add_parser(
        "run",
        help="run a pipeline locally (moto + local jobs); see 'run --help'",
        description="Run a pipeline on this machine. Options after the pipeline go to the local runner.",
    )
    p.add_argument("pipeline", nargs="?", default="iris_training", metavar="PIPELINE")
    _add_env(p, "environment (default: local)")
    return parser


# --- commands ----------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit import reporter
    from sagemaker_pipelines.toolkit.validation import UsageError, validate

    try:
        summary = validate(args.files, args.env, use_cache=not args.no_cache, jobs=args.jobs)
    except UsageError as exc:
        raise CommandError(str(exc)) from None
    reporter.report(summary, args.format)
    return 0 if summary.valid else 1


def _pipeline_path(spec: str) -> Path:
    from sagemaker_pipelines.project import find_pipeline

    path = find_pipeline(spec)
    if path is None:
        raise CommandError(f"no pipeline '{spec}' (give a name under pipelines/ or a path)")
    return path


def _environment(env_name: str | None):
    """(Environment, []) for --env (default: $SAGEMAKER_PIPELINES_ENV or local), or (None, problems)."""
    from sagemaker_pipelines.format.environment import environment_names, load_environment
    from sagemaker_pipelines.problems import PipelineInvalid

    name = env_name or default_environment()
    if name not in environment_names():
        known = ", ".join(environment_names()) or "none"
        raise CommandError(f"unknown environment '{name}' (known: {known})")
    try:
        return load_environment(name), []
    except PipelineInvalid as exc:
        return None, exc.problems


def _checked(spec: str, env_name: str | None):
    """(CheckResult, problems) of one pipeline named by stem or path, in one environment."""
    from sagemaker_pipelines.checker import check_file

    path = _pipeline_path(spec)
    environment, problems = _environment(env_name)
    if environment is None:
        return None, problems
    result = check_file(path, environment)
    return result, result.problems


def _report_invalid(problems) -> int:
    from sagemaker_pipelines.toolkit.reporter import print_problems

    print_problems(problems)
    count = len(problems)
    print(f"{count} problem{'s' if count != 1 else ''}: nothing generated", file=sys.stderr)
    return 1


def _render(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit.render import render_json, render_text

    result, problems = _checked(args.pipeline, args.env)
    if problems:
        return _report_invalid(problems)
    print(render_json(result.compiled) if args.format == "json" else render_text(result.compiled), end="")
    return 0


def _graph(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.paths import display_path, project_root
    from sagemaker_pipelines.toolkit.graph import write_graphs

    result, problems = _checked(args.pipeline, args.env)
    if problems:
        return _report_invalid(problems)
    out = args.out or project_root() / "docs" / "graphs"
    written = write_graphs(result.compiled, out)
    for path in written.paths:
        print(f"wrote {display_path(path)}")
    if written.dot_missing:
        print(
            "Graphviz 'dot' is not installed: wrote the Mermaid file only "
            "(install it with: apt-get install graphviz)",
            file=sys.stderr,
        )
    print()
    print(written.mermaid, end="")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.project import discover
    from sagemaker_pipelines.toolkit.pycompile import compile_folder

    paths = [_pipeline_path(spec) for spec in args.pipelines] if args.pipelines else discover()
    environment, problems = _environment(args.env)
    if environment is None:
        return _report_invalid(problems)
    if environment.local and not args.allow_local:
        raise CommandError(
            f"'{environment.name}' is a local environment: its emulator bucket, role and connection would be "
            "written into the DAG files. Choose where they run (--env aws, make compile ENV=aws), or pass "
            "--allow-local (make compile ENV=local ALLOW_LOCAL=1)"
        )
    print(f"environment {environment.name}: region {environment.region}, bucket {environment.bucket}")
    outcome = compile_folder(paths, environment, args.out, prune=not args.pipelines)
    for path in outcome.written:
        print(f"wrote {path}")
    for path in outcome.removed:
        print(f"removed stale {path}")
    if outcome.problems:
        from sagemaker_pipelines.toolkit.reporter import print_problems

        print_problems(outcome.problems)
        print(f"{len(outcome.problems)} problems: invalid pipelines were not compiled", file=sys.stderr)
        return 1
    return 0


def _new(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit.scaffold import ScaffoldError, create

    try:
        path = create(args.name, args.template, force=args.force)
    except ScaffoldError as exc:
        raise CommandError(str(exc)) from None
    from sagemaker_pipelines.paths import display_path
    from sagemaker_pipelines.toolkit import sync
    from sagemaker_pipelines.toolkit.validation import validate

    print(f"wrote {display_path(path)}")
    changes = sync.plan([path])
    sync.apply(changes)
    for dag_file in changes.write:
        print(f"wrote {display_path(dag_file)}")
    summary = validate([str(path)])
    if not summary.valid:  # a template that stopped matching the schema: say so loudly
        from sagemaker_pipelines.toolkit.reporter import report

        report(summary)
        return 1
    print(
        f"it validates ({summary.text()}); edit it, then: make validate && make render PIPELINE={args.name}"
    )
    return 0


def _sync(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.paths import display_path
    from sagemaker_pipelines.toolkit import sync
    from sagemaker_pipelines.toolkit.reporter import print_problems

    changes = sync.plan()
    if args.check:
        stale = sync.problems_of(changes) + changes.problems
        print_problems(stale)
        if stale:
            print(f"{len(stale)} DAG files out of step: run 'make sync'", file=sys.stderr)
            return 1
        print(f"{len(changes.unchanged)} DAG files up to date")
        return 0
    sync.apply(changes)
    for path in changes.write:
        print(f"wrote {display_path(path)}")
    for path in changes.remove:
        print(f"removed {display_path(path)} (its pipeline is gone)")
    print(f"{len(changes.unchanged)} DAG files were already up to date")
    if changes.problems:  # a DAG id used twice: only its first pipeline gets the file
        print_problems(changes.problems)
        return 1
    return 0


def _docs(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.paths import display_path
    from sagemaker_pipelines.toolkit import docs_gen

    if args.check:
        shown = display_path(docs_gen.REFERENCE_PATH)
        if docs_gen.is_stale():
            print(f"{shown} is stale: run 'make docs' and commit it", file=sys.stderr)
            return 1
        print(f"{shown} is up to date")
        return 0
    path = docs_gen.generate()
    print(f"wrote {display_path(path)}")
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit.generators import files

    return files.run(check=args.check, sdk_wheel=args.sdk_wheel)


def _run(argv: list[str]) -> int:
    from sagemaker_pipelines.local.run import main as run_main

    return run_main(argv)


_HANDLERS = {
    "validate": _validate,
    "render": _render,
    "graph": _graph,
    "compile": _compile,
    "new": _new,
    "sync": _sync,
    "docs": _docs,
    "schemas": _schemas,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":  # everything after 'run' belongs to the local runner's own parser
        return _run(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments and 0 after --help
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    try:
        return _HANDLERS[args.command](args)
    except CommandError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
