"""The command line of ``sagemaker-pipelines``: every command's arguments and help, in one place.

The handlers are in :mod:`sagemaker_pipelines.toolkit.cli`; ``run`` and ``airflow`` keep their own
parsers (everything after the command name is theirs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sagemaker_pipelines.format.environment import DEFAULT_ENVIRONMENT, ENV_VARIABLE

_DESCRIPTION = "Declarative Amazon SageMaker pipelines on Airflow: validate, inspect and generate them."


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
    p.add_argument(
        "--build",
        action="store_true",
        help="also build each valid pipeline's DAG with Airflow, as its DAG file does, so what only "
        "Airflow rejects fails here too; at image build it leaves nothing for a pod to redo",
    )

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
        "migrate",
        help="rewrite pipelines in the current format version",
        description="Rewrite pipeline files (default: all under pipelines/) written for an older format "
        "version in the current one, keeping their comments and layout: the migrations add what the "
        "file relied on, and the modeline names the current version's schema. Prints what changed.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="pipeline files or folders (default: all)")
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is not in the current version"
    )

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
        description="Rewrite compile/image_data.json (the SageMaker SDK's image data), "
        "compile/hyperparameters.json (the built-in algorithms' hyperparameters, from the SageMaker SDK "
        "v2's sagemaker.amazon estimators), the generated lists of schemas/pipeline.schema.json (instance "
        "types from botocore; algorithms, regions and framework versions) and "
        "schemas/<version>/pipeline.authored.schema.json, the schemas editors use.",
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

    p = commands.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy the pipelines' requests need",
        description="Print the IAM policy (JSON) for the identity Airflow's workers use: the SageMaker "
        "calls of every task on their resource ARNs, iam:PassRole of their roles to SageMaker, and S3 read "
        "and write on the prefixes they use - generated from the compiled requests of one environment.",
    )
    p.add_argument("pipelines", nargs="*", metavar="PIPELINE", help="names or paths (default: all)")
    _add_env(p)

    commands.add_parser(
        "airflow",
        help="run a real Airflow here (UI, scheduler, triggerer) on the local AWS; see 'airflow --help'",
        description="Start Airflow's processes against the local AWS endpoint; Ctrl-C stops them all.",
        add_help=False,
    )
    return parser
