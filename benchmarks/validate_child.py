"""Our validator over many files in one process, without the CLI: ``checker.check_file`` per file.

Usage: ``python validate_child.py --env local FILE...``; exits 1 when any file has problems (listed).
This is what ``sagemaker-pipelines validate`` does at its core (parse, references, schema,
semantics, compile and the botocore request check) for one environment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="local")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    environment = load_environment(args.env)
    bad = 0
    for name in args.files:
        result = check_file(Path(name), environment)
        for problem in result.problems:
            print(f"{problem.location()}: {problem.field}: {problem.message}")
        bad += bool(result.problems)
    print(f"{len(args.files) - bad} of {len(args.files)} files valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
