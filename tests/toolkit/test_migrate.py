"""Format versions: a file of every earlier version still validates as written, ``migrate`` rewrites it to
the current version byte for byte as expected (comments and layout kept) without changing what it
compiles to, problems are reported at the lines the user wrote, and a newer format is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.format.migrations import migrations_from
from sagemaker_pipelines.format.versions import CURRENT, VERSIONS, declared_version, schema_url
from sagemaker_pipelines.paths import schemas_dir
from sagemaker_pipelines.toolkit.migrate import migrate_text

from .conftest import ENVIRONMENTS

FORMATS = Path(__file__).parent / "formats"
EARLIER = VERSIONS[:-1]
MODELINE = "# yaml-language-server: $schema="


def old_file(version: str) -> Path:
    return FORMATS / f"{version}.yaml"


def test_there_is_a_file_of_every_earlier_version_and_nothing_else():
    written = sorted(p.stem for p in FORMATS.glob("*.yaml") if re.fullmatch(r"\d{4}-\d{2}", p.stem))
    assert written == list(EARLIER)
    for version in EARLIER:
        assert (FORMATS / f"{version}.migrated.yaml").is_file()


def test_versions_are_dates_in_order_and_each_step_goes_to_the_next():
    assert list(VERSIONS) == sorted(VERSIONS)
    assert all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v) for v in VERSIONS)
    for version in EARLIER:
        steps = migrations_from(version)
        assert [s.source for s in steps] == list(VERSIONS[VERSIONS.index(version) : -1])
        assert [s.target for s in steps] == list(VERSIONS[VERSIONS.index(version) + 1 :])
    assert migrations_from(CURRENT) == []


@pytest.mark.parametrize("version", EARLIER)
def test_an_earlier_version_validates_as_written(version):
    path = old_file(version)
    assert declared_version(path.read_text()).version == version
    for name in ("local", "aws"):
        result = check_text(path.read_text(), path, load_environment(name))
        assert result.problems == [], [p.format() for p in result.problems]


@pytest.mark.parametrize("version", EARLIER)
def test_migrate_rewrites_it_byte_for_byte_and_then_leaves_it(version):
    path = old_file(version)
    expected = (FORMATS / f"{version}.migrated.yaml").read_text()
    result = migrate_text(path.read_text(), path)
    assert result.problems == []
    assert result.text == expected
    assert expected.splitlines()[0] == f"{MODELINE}../../../schemas/{CURRENT}/pipeline.authored.schema.json"
    again = migrate_text(expected, FORMATS / f"{version}.migrated.yaml")
    assert again.current and again.text == expected


@pytest.mark.parametrize("version", EARLIER)
def test_a_migrated_file_means_what_it_meant(version):
    """The same DAG, task for task: migrations write down what the old version left implicit."""
    environment = load_environment("local")
    path = old_file(version)
    old = check_text(path.read_text(), path, environment).compiled
    new = check_text((FORMATS / f"{version}.migrated.yaml").read_text(), path, environment).compiled
    assert old is not None and new is not None
    assert [(t.task_id, t.kwargs) for t in old.tasks] == [(t.task_id, t.kwargs) for t in new.tasks]
    assert old.task("run_pipeline").kwargs["wait_for_completion"] is True


def test_in_the_current_version_start_and_stop_pipeline_wait_only_when_asked(tmp_path):
    text = old_file("2026-11").read_text().replace(MODELINE + "../../../schemas/", MODELINE + f"{CURRENT}/")
    path = tmp_path / "current.yaml"
    compiled = check_text(text, path, load_environment("local")).compiled
    assert compiled is not None
    assert compiled.task("run_pipeline").kwargs["wait_for_completion"] is False  # the operator's default
    assert compiled.task("stop").kwargs["wait_for_completion"] is False


def test_validate_reports_problems_at_the_lines_written(tmp_path):
    """The migration adds lines in memory; a problem below them is still at the user's line."""
    lines = old_file("2026-11").read_text().splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines, 1) if line.strip() == "execution: run_and_return")
    lines[at - 1] = lines[at - 1].replace("run_and_return", "no_such_task")
    lines.append("    retries: many\n")
    path = tmp_path / "old.yaml"
    result = check_text("".join(lines), path, load_environment("local"))
    where = {p.field: (p.line, p.column) for p in result.problems}
    assert where["tasks.watch.execution"] == (at, 16), [p.format() for p in result.problems]
    assert where["tasks.stop.retries"] == (len(lines), 5)


def test_a_file_for_a_newer_format_is_refused_at_its_version(tmp_path):
    text = (
        f"{MODELINE}../schemas/2099-01/pipeline.authored.schema.json\nstart_date: 2026-01-01\ntasks: {{}}\n"
    )
    path = tmp_path / "future.yaml"
    [problem] = check_text(text, path, load_environment("local")).problems
    assert (problem.line, problem.column, problem.code) == (1, 44, "version")
    assert problem.message == f"written for format 2099-01; this installation knows formats up to {CURRENT}"
    assert "upgrade" in problem.hint
    assert migrate_text(text, path).problems == [problem]


def test_a_version_that_never_was_is_named_with_the_known_ones(tmp_path):
    text = f"{MODELINE}../schemas/2020-01/pipeline.authored.schema.json\nstart_date: 2026-01-01\n"
    [problem] = check_text(text, tmp_path / "x.yaml", load_environment("local")).problems
    assert problem.message == f"unknown format version 2020-01; the versions are {', '.join(VERSIONS)}"


def test_a_flow_mapping_is_left_alone_with_what_to_add(tmp_path):
    text = "start_date: 2026-01-01\ntasks:\n  run: {kind: start_pipeline, pipeline_name: churn-training}\n"
    result = migrate_text(text, tmp_path / "flow.yaml")
    assert result.text == text
    [problem] = result.problems
    assert (problem.line, problem.field) == (3, "tasks.run")
    assert problem.message == f"add 'wait_for_completion: true' here for format {CURRENT}"


def test_a_file_for_another_schema_is_not_touched(run_cli):
    """An environment file named by mistake: its modeline must not become a pipeline's."""
    environment = ENVIRONMENTS / "local.yaml"
    before = environment.read_text()
    code, _, err = run_cli("migrate", str(environment))
    assert code == 1 and "not a pipeline's pipeline.authored.schema.json" in err
    assert environment.read_text() == before


def test_a_file_without_a_modeline_gets_one(tmp_path):
    text = "start_date: 2026-01-01\ntasks:\n  run:\n    kind: start_pipeline\n    pipeline_name: p\n"
    result = migrate_text(text, tmp_path / "pipelines" / "bare.yaml")
    first, *rest = result.text.splitlines(keepends=True)
    assert first.startswith(MODELINE) and first.rstrip().endswith(f"/{CURRENT}/pipeline.authored.schema.json")
    assert "".join(rest) == text.replace(
        "start_pipeline\n", "start_pipeline\n    wait_for_completion: true\n"
    )


def test_migrate_check_and_rewrite_through_the_cli(tmp_path, run_cli):
    path = tmp_path / "old.yaml"
    path.write_text(old_file("2026-11").read_text())
    code, out, err = run_cli("migrate", "--check", str(path))
    assert code == 1 and f"written for format 2026-11, not {CURRENT}: run 'make migrate'" in err
    assert path.read_text() == old_file("2026-11").read_text()
    code, out, _ = run_cli("migrate", str(path))
    assert code == 0
    assert "after line 10: added wait_for_completion: true (task 'run_pipeline'" in out
    assert path.read_text() == (FORMATS / "2026-11.migrated.yaml").read_text()
    code, out, _ = run_cli("migrate", "--check", str(path))
    assert code == 0 and f"every file is written for format {CURRENT}" in out


def test_shipped_pipelines_are_current(run_cli):
    code, _, err = run_cli("migrate", "--check")
    assert code == 0, err


def test_every_version_has_its_editor_schema_and_unversioned_files_get_the_oldest():
    def view(path: Path) -> dict:
        schema = json.loads(path.read_text())
        return {k: v for k, v in schema.items() if k not in ("$id", "$comment")}

    views = {v: view(schemas_dir() / schema_url(v, folder="")) for v in VERSIONS}
    assert view(schemas_dir() / "pipeline.authored.schema.json") == views[VERSIONS[0]]
    start = views["2026-11"]["$defs"]["start_pipeline_task"]["properties"]["wait_for_completion"]
    assert start["default"] is True and "(true, the default)" in start["description"]
    start = views["2026-12"]["$defs"]["start_pipeline_task"]["properties"]["wait_for_completion"]
    assert start["default"] is False and "(false, the default;" in start["description"]
