"""``make run CONF=...`` hands the run its params as data: a quote, ``$(...)`` or make's own
``$(shell ...)`` in the JSON is text of a param, never a command run by the shell or by make."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from sagemaker_pipelines.local.run import CONF_VARIABLE, conf_from_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT


def _nasty(folder) -> str:
    """Valid JSON whose value ends a single-quoted shell word, then asks the shell and make to run
    commands that would each leave a file in ``folder``."""
    value = f"it's'; touch {folder}/quote; echo '$(touch {folder}/subshell) `touch {folder}/backtick`"
    value += f" $(shell touch {folder}/make)"
    return json.dumps({"note": value, "k": 5})


def test_make_run_passes_conf_through_the_environment_untouched(tmp_path):
    recorder = tmp_path / "record.py"
    recorder.write_text(
        textwrap.dedent(
            f"""\
            import json, os, sys
            record = {{"argv": sys.argv[1:], "conf": os.environ.get({CONF_VARIABLE!r})}}
            open({str(tmp_path / "record.json")!r}, "w").write(json.dumps(record))
            """
        )
    )
    conf = _nasty(tmp_path)
    environ = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    make = ["make", "-o", "install", "--no-print-directory", "-C", str(CHECKOUT_ROOT)]
    # -o install: the virtualenv is not re-synced; CLI: the command make runs, recording what it got
    done = subprocess.run(
        [*make, "run", "PIPELINE=iris_training", f"CONF={conf}", f"CLI={sys.executable} {recorder}"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "record.json").read_text())
    assert record == {"argv": ["run", "iris_training"], "conf": conf}
    ran = sorted(p.name for p in tmp_path.iterdir() if p.suffix not in (".py", ".json"))
    assert ran == [], f"commands in CONF ran: {ran}"


def test_the_run_reads_its_params_from_the_environment_as_json(tmp_path):
    conf = _nasty(tmp_path)
    assert conf_from_environment({CONF_VARIABLE: conf}) == json.loads(conf)
    assert conf_from_environment({}) is None
    assert conf_from_environment({CONF_VARIABLE: ""}) is None


def test_a_conf_that_is_no_json_object_is_refused_by_name():
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="a JSON object"):
        conf_from_environment({CONF_VARIABLE: "[1, 2]"})
    environ = {**os.environ, CONF_VARIABLE: "{'k': 5}"}
    environ["PYTHONPATH"] = os.pathsep.join([str(CHECKOUT_ROOT / "src"), str(CHECKOUT_ROOT)])
    done = subprocess.run(
        [sys.executable, "-m", "sagemaker_pipelines.toolkit", "run", "iris_training"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=CHECKOUT_ROOT,
    )
    assert done.returncode == 2
    assert f"${CONF_VARIABLE} (make run CONF=...): not JSON" in done.stderr
