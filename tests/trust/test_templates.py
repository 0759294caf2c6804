"""Templates are parsed as Airflow parses them and walked with an allow-list: every way the task context
leads to connections or Variables is refused, however it is spelled; what pipelines and the compiler
write stays valid; the checker's work is bounded on hostile input; the loader refuses what validate does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2.sandbox
import pytest

from sagemaker_pipelines.checker import check_file, check_text
from sagemaker_pipelines.format import template_allowed, templates
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.format.templates import MAX_NESTING, check_template, has_template
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.problems import PipelineInvalid

PIPELINE = CHECKOUT_ROOT / "pipelines" / "t.yaml"


def _pipeline(value: str) -> str:
    quoted = "'" + value.replace("'", "''") + "'"
    return (
        "start_date: 2024-01-01\ntasks:\n  t:\n    kind: python\n"
        f"    callable: include/iris_data.py:prepare_iris\n    arguments:\n      x: {quoted}\n"
    )


BYPASSES = [
    "{{ ti.task.dag.get_template_env() }}",
    "{{ task_instance.get_template_context()['conn'].db.password }}",
    "{{ ti.get_template_context().conn.db.password }}",
    "{{ dag_run.get_dag().tasks }}",
    "{{ dag.get_task('t') }}",
    "{{ task.dag }}",
    "{{ macros.ds_add.__globals__['Variable'].get('token') }}",
    "{{ macros.json }}",
    "{{ ti['ta' ~ 'sk'].dag }}",
    "{{ ti['task'] }}",
    "{{ self._TemplateReference__context['conn'].db.password }}",
    "{{ context['var'].value.token }}",
    "{{ ds | attr('__class__') }}",
    "{{ ti | attr('task') }}",
    "{{ params.rows | map('attr', '__class__') | list }}",
    "{{ params.rows | selectattr('__class__') | list }}",
    "{% set c = conn %}{{ c.db.password }}",
    "{% with c = var %}{{ c.value.token }}{% endwith %}",
    "{% macro m() %}{{ conn.db.password }}{% endmacro %}{{ m() }}",
    "{% do ti.xcom_push('k', 1) %}",
    "{% import 'x.j2' as x %}",
    "{% extends 'base.j2' %}",
    "{{ namespace(x=1) }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner() }}",
    "{{ range(10) }}",
    "{{ params._ParamsDict__dict }}",
    "{{ params.__class__ }}",
    "{{ '{0.__class__}'.format(ds) }}",
    "{{ ti.xcom_pull(*params.args) }}",
    "{{ (ti).task }}",
    "{% for t in ti.task.dag.tasks %}{{ t }}{% endfor %}",
    "{% for x in params.l recursive %}{{ loop(x) }}{% endfor %}",
    "{% for x in params.l %}{{ loop.cycle(conn) }}{% endfor %}",
    "{{ ti.task if ds else ds }}",
    "{{ ds ~ ti.task }}",
    "{{ (ti if ds else params).task }}",
    "{% for name, value in dag_run %}{{ value }}{% endfor %}",
    "{{ ti }}",
    "{{ [ti][0].task }}",
]


@pytest.mark.parametrize("template", BYPASSES)
def test_templates_reaching_past_the_allowed_context_are_refused(template):
    result = check_text(_pipeline(template), PIPELINE, load_environment("local"))
    assert [(p.field, p.code, p.line, p.column) for p in result.problems] == [
        ("tasks.t.arguments.x", "template", 7, 10)
    ]
    assert "a template may use" in result.problems[0].hint
    assert result.compiled is None


ALLOWED = [
    "{{ ds }}", "{{ ds_nodash }}-{{ ts_nodash }}", "{{ logical_date.strftime('%Y/%m') }}",
    "{{ data_interval_start | ds }}", "{{ data_interval_end.add(days=1).isoformat() }}", "{{ run_id }}",
    "{{ params.k }}", "{{ params['k'] | default('x') | upper }}", "{{ dag_run.conf.get('k', 'a') }}",
    "{{ dag_run.run_after | ts_nodash }}-{{ ti.try_number }}", "{{ dag.dag_id }}/{{ task.task_id }}",
    "{{ ti.xcom_pull(task_ids='a') }}", "{{ task_instance.xcom_pull(task_ids='a', key='s3_path') }}",
    "{{ ti.xcom_pull(task_ids='a')['Tuning']['Best'] }}", "{{ macros.ds_add(ds, 7) }}",
    "{{ macros.ds_format(ds, '%Y-%m-%d', '%Y/%m') }}", "{{ ('co' ~ 'nn') }}",
    "{% if params.flag %}a{% else %}b{% endif %}",
    "{% for x in params.rows %}{{ x.name }}{{ loop.index }}{% endfor %}",
    "{{ params.rows | map(attribute='name') | join(',') }}", "{# a comment #}",
    "{% raw %}{{ conn }}{% endraw %}", "{{ params.n is number }}", "{{ (params.a | int) + 1 }}",
    "no template at all: { braces } and ${params.k}",
    ":red_circle: {{ default_message }} - owner {{ dag.owner }}", "{{ notification.state | upper }}",
]  # fmt: skip


@pytest.mark.parametrize("template", ALLOWED)
def test_templates_of_the_allowed_context_are_fine(template):
    assert check_template(template) == []


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_compilers_own_templates_are_allowed():
    """Run suffixes, task outputs (XCom, selectattr, ~), params, ``for_each``: what the shipped pipelines
    compile to holds templates, and every one passes the same check user values do."""
    environment = load_environment("local")
    found = []
    for path in sorted((CHECKOUT_ROOT / "pipelines").glob("*.yaml")):
        result = check_file(path, environment)
        assert result.problems == [], path
        found += [s for s in _strings(result.compiled.as_dict()) if has_template(s)]
    assert any("xcom_pull" in s for s in found) and any("try_number" in s for s in found)
    assert [s for s in found if check_template(s)] == []


def test_an_environment_may_allow_conn_but_nothing_past_it(tmp_path, monkeypatch):
    folder = tmp_path / "environments"
    folder.mkdir()
    local = (CHECKOUT_ROOT / "environments" / "local.yaml").read_text()
    (folder / "local.yaml").write_text(local + "allow_templates: [conn]\n")
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(folder))
    environment = load_environment("local")
    assert check_text(_pipeline("{{ conn.db.password }}"), PIPELINE, environment).problems == []
    assert check_text(_pipeline("{{ conn['db'].get_uri() }}"), PIPELINE, environment).problems == []
    for refused in ["{{ var.value.token }}", "{{ conn.db.get_hook() }}", "{{ conn.db._password }}"]:
        problems = check_text(_pipeline(refused), PIPELINE, environment).problems
        assert [p.code for p in problems] == ["template"], refused


def test_the_parser_is_configured_like_airflows():
    """Parsing with plain jinja2 (validate does not import Airflow) must see what Airflow's task
    template environment sees: same sandbox, delimiters, extensions and line syntax; and every filter
    and test the allow-list names exists there."""
    from airflow.sdk.definitions._internal.templater import create_template_env

    airflow = create_template_env()
    ours = templates.jinja_environment()
    assert isinstance(airflow, jinja2.sandbox.SandboxedEnvironment)
    assert isinstance(ours, jinja2.sandbox.SandboxedEnvironment)
    settings = [
        "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
        "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
        "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline",
    ]  # fmt: skip
    assert {s: getattr(ours, s) for s in settings} == {s: getattr(airflow, s) for s in settings}
    assert set(ours.extensions) == set(airflow.extensions)
    assert set(airflow.filters) >= (template_allowed.FILTERS | template_allowed.FIELD_FILTERS)
    assert set(airflow.tests) >= template_allowed.TESTS
    assert set(templates.DELIMITERS) == {
        airflow.block_start_string,
        airflow.variable_start_string,
        airflow.comment_start_string,
    }


def test_a_syntax_error_is_a_located_problem():
    (problem,) = check_text(_pipeline("s3://b/{{ ds }/x"), PIPELINE, load_environment("local")).problems
    assert (problem.line, problem.column, problem.field) == (7, 10, "tasks.t.arguments.x")
    assert "not a template Airflow can render" in problem.message and "unexpected '}'" in problem.message


class _CountingLexer:
    """The real environment, counting the tokens the bracket bound reads before the parser runs."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        self.tokens = 0
        self.parsed = 0

    def lex(self, text: str):
        for token in self.env.lex(text):
            self.tokens += 1
            yield token

    def parse(self, text: str):
        self.parsed += 1
        return self.env.parse(text)


def test_64_kb_of_opening_braces_stop_at_the_nesting_bound(monkeypatch):
    """The regex scan was quadratic here (20 s); the bracket bound reads MAX_NESTING + 2 tokens and
    never starts Jinja's recursive parser."""
    counting = _CountingLexer(templates.jinja_environment())
    monkeypatch.setattr(templates, "jinja_environment", lambda: counting)
    assert check_template("{{" * 32768) == [
        templates.Refusal(f"brackets nested {MAX_NESTING + 1} deep (at most 64)", form="nesting")
    ]
    assert counting.tokens <= MAX_NESTING + 2 and counting.parsed == 0


@pytest.mark.parametrize(
    "value",
    ["{{" * 32768, "{%" * 32768, "{{ " + "(" * 20000 + "1" + ")" * 20000 + " }}",
     "{{ " + "not " * 16000 + "ds }}", "{{ " + "- " * 30000 + "1 }}", "{{ ds" + ".x" * 30000 + " }}",
     "{% if ds %}" * 2900 + "{% endif %}" * 2900],
)  # fmt: skip
def test_hostile_values_end_in_one_problem(value):
    (problem,) = check_text(_pipeline(value), PIPELINE, load_environment("local")).problems
    assert problem.code == "template" and problem.field == "tasks.t.arguments.x"
    assert problem.message.startswith("this template is too deeply nested to check")


def test_a_long_ordinary_template_is_fine():
    assert check_text(_pipeline("{{ ds }}/" * 7000), PIPELINE, load_environment("local")).problems == []


def test_the_loader_refuses_what_validate_refuses(project, monkeypatch):
    """The DAG file's loader runs the same checker: a bypass form becomes the import-error stand-in
    (whose validate raises the template problem), while the same pipeline with ``{{ ds }}`` builds."""
    from sagemaker_pipelines.airflow.loader import build_pipeline
    from sagemaker_pipelines.cache.compile_cache import CACHE_VARIABLE

    monkeypatch.setenv(CACHE_VARIABLE, "off")
    dag_file = project / "dags" / "leak.py"
    pipeline = project / "pipelines" / "leak.yaml"
    pipeline.write_text(_pipeline("{{ ds }}"))
    built = build_pipeline(dag_file, pipeline, "local")
    built.validate()
    assert built.get_task("t").op_kwargs["arguments"] == {"x": "{{ ds }}"}

    pipeline.write_text(_pipeline("{{ task_instance.get_template_context()['conn'].db.password }}"))
    stand_in = build_pipeline(dag_file, pipeline, "local")
    with pytest.raises(PipelineInvalid) as caught:
        stand_in.validate()
    assert [(p.field, p.code) for p in caught.value.problems] == [("tasks.t.arguments.x", "template")]
    assert Path(caught.value.problems[0].file).name == "leak.yaml"


@pytest.mark.parametrize(
    "text",
    ["", "{{ a }}", "x{{ a }}y{{ b }}z", "{{ a }}}}", "{{}}", "{{ a\n}} {{ b }}", "{{ {{ a }}", "{{ a }",
     "{{{{ a }}}}", "}} {{ a }} {{", "{% raw %}{{{{{% endraw %}", "{{ a }}\n{{ b\n c }}{{ d }}"],
)  # fmt: skip
def test_expressions_are_found_as_the_regex_found_them(text):
    """``replace_expressions`` replaced ``re.sub(r"\\{\\{.*?\\}\\}", ...)`` (quadratic on many ``{{``)."""
    regex = re.compile(r"\{\{.*?\}\}")
    assert templates.replace_expressions(text, lambda s: f"<{s}>") == regex.sub(lambda m: f"<{m[0]}>", text)


def test_a_task_output_beside_64_kb_of_braces_validates():
    """A task output and a literal full of ``{{``: the compiler's output markers and the request check's
    samples are found in one pass (their regexes retried from every ``{{``: 25 s at this size)."""
    literal = "{{ '" + "{{" * 16000 + "' }}"
    text = (
        "start_date: 2024-01-01\ntasks:\n"
        "  a:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n"
        "  t:\n    kind: python\n    callable: include/iris_data.py:prepare_iris\n    arguments:\n"
        f'      x: "${{tasks.a.result}}{literal}"\n'
    )
    result = check_text(text, PIPELINE, load_environment("local"))
    assert result.problems == [] and result.compiled is not None
