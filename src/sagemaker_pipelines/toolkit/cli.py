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
from sagemaker_pipelines.toolkit.parser import build_parser

USAGE_ERROR = 2


class CommandError(Exception):
    """A usage problem found after argument parsing (unknown pipeline, bad name): exit status 2."""


def default_environment() -> str:
    """``$SAGEMAKER_PIPELINES_ENV`` or ``local``; unlike the DAG loader, never asks Airflow."""
    return os.environ.get(ENV_VARIABLE) or DEFAULT_ENVIRONMENT


# --- commands ----------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit import reporter
    from sagemaker_pipelines.toolkit.validation import UsageError, validate

    try:
        summary = validate(
            args.files, args.env, use_cache=not args.no_cache, jobs=args.jobs, build=args.build
        )
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
    return result, result.errors


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


def _migrate(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit import migrate

    return migrate.run(args.files, check=args.check)


def _schemas(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.toolkit.generators import files

    return files.run(check=args.check, sdk_wheel=args.sdk_wheel)


def _run(argv: list[str]) -> int:
    from sagemaker_pipelines.local.run import main as run_main

    return run_main(argv)


def _iam_policy(args: argparse.Namespace) -> int:
    from sagemaker_pipelines.checker import check_file
    from sagemaker_pipelines.project import discover
    from sagemaker_pipelines.toolkit import iam_policy

    paths = [_pipeline_path(spec) for spec in args.pipelines] if args.pipelines else discover()
    environment, problems = _environment(args.env)
    if environment is None:
        return _report_invalid(problems)
    results = [check_file(path, environment) for path in paths]
    problems = [p for r in results for p in r.errors]
    if problems:
        return _report_invalid(problems)
    try:
        document = iam_policy.policy([r.compiled for r in results], environment)
    except (iam_policy.UnmappedKinds, iam_policy.ForbiddenByGuardrails) as exc:
        print(f"sagemaker-pipelines iam-policy: {exc}", file=sys.stderr)
        return 1
    print(iam_policy.render(document), end="")
    return 0


def _airflow(argv: list[str]) -> int:
    from sagemaker_pipelines.local.stack import main as stack_main

    return stack_main(argv)


_HANDLERS = {
    "validate": _validate,
    "render": _render,
    "graph": _graph,
    "compile": _compile,
    "new": _new,
    "sync": _sync,
    "docs": _docs,
    "iam-policy": _iam_policy,
    "schemas": _schemas,
    "migrate": _migrate,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":  # everything after 'run' belongs to the local runner's own parser
        return _run(argv[1:])
    if argv and argv[0] == "airflow":  # likewise for the local Airflow stack
        return _airflow(argv[1:])
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
