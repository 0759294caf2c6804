"""``python -m sagemaker_pipelines.toolkit``: see :mod:`sagemaker_pipelines.toolkit.cli`."""

import os
import sys

from sagemaker_pipelines.toolkit.cli import main

try:
    status = main()
    sys.stdout.flush()
except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 1
sys.exit(status)
