"""How ``make test`` shares the machine's two cores between two pytest workers (pytest-xdist).

Most of the suite's wall time is spent waiting on real processes (Airflow's, the local AWS endpoint's,
their jobs), so two workers finish sooner. Tests stay together where running them apart would cost or
break something: a module's tests run on one worker, in order (its module-scoped server and runs are
made once), and every test that starts Airflow's processes (``tests/airflow_stack``) runs on the same
worker, so no two Airflow stacks compete for the two cores and the package-wide stack starts once.
"""

from __future__ import annotations

import pytest

ONE_WORKER_FOLDERS = ("tests/airflow_stack/",)

# Tests that start real processes - Airflow's (scheduler, dag-processor, triggerer, api-server), the local
# AWS endpoint, `make run`, the editors' language server - carry the marker ``processes``: `make test-fast`
# (the edit-test loop) leaves them out, `make test` (CI) runs everything.
PROCESS_FOLDERS = (
    "tests/airflow_stack/",
    "tests/dag_processing/",
    "tests/local_run/",
    "tests/local_aws/",
    "tests/editor/",
    "tests/bench/",
)
PROCESS_MODULES = (
    "tests/trust/test_endpoint.py",
    "tests/trust/test_processes.py",
    "tests/trust/test_verdict.py",
    "tests/trust/test_local_state.py",
    "tests/toolkit/test_run_conf.py",
)


def starts_processes(nodeid: str) -> bool:
    module = nodeid.split("::", 1)[0]
    return module.startswith(PROCESS_FOLDERS) or module in PROCESS_MODULES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if starts_processes(item.nodeid):
            item.add_marker(pytest.mark.processes)


def work_unit(nodeid: str) -> str:
    """The tests one worker runs together, in order: a module, or a whole folder of ONE_WORKER_FOLDERS."""
    module = nodeid.split("::", 1)[0]
    return next((folder for folder in ONE_WORKER_FOLDERS if module.startswith(folder)), module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    # xdist's own loadgroup cannot do this with pytest 9 (its group suffix never reaches the node ids).
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


@pytest.fixture(scope="session")
def jinja():
    """Airflow's own template environment (tests/templating.py), for tests that render compiled requests."""
    from tests.templating import airflow_jinja

    return airflow_jinja()
