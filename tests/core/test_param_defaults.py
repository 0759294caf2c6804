"""A run parameter's default is checked against its own declaration, as Airflow's ``Param`` would check a
value: a default its own schema rejects is a problem at the default, with what was declared."""

from __future__ import annotations

import pytest

PIPELINE = """\
start_date: 2024-01-01
params:
  p: {declaration}
tasks:
  prepare:
    kind: python
    callable: include/iris_data.py:prepare_iris
"""


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("{type: integer, default: {a: 1}}", "{'a': 1} is not of type 'integer'"),
        ("{type: integer, default: 2.5}", "2.5 is not of type 'integer'"),
        ("{type: string, default: 3}", "3 is not of type 'string'"),
        ("{type: array, default: abc}", "'abc' is not of type 'array'"),
        ("{type: integer, default: 0, minimum: 1}", "0 is less than the minimum of 1"),
        ("{type: number, default: 60, maximum: 50}", "60 is greater than the maximum of 50"),
        (
            "{default: auto, enum: [classifier, regressor]}",
            "'auto' is not one of ['classifier', 'regressor']",
        ),
        ("{type: boolean, default: 1}", "1 is not of type 'boolean'"),
    ],
)
def test_a_default_its_declaration_rejects_is_a_problem_at_the_default(check, declaration, message):
    result = check(PIPELINE.format(declaration=declaration))
    assert [(p.field, p.code) for p in result.problems] == [("params.p.default", "semantics")]
    problem = result.problems[0]
    assert problem.line == 3 and problem.column == declaration.index("default: ") + 9 + 6
    assert message in problem.message and "declared" in problem.hint


@pytest.mark.parametrize(
    "declaration",
    [
        "{type: integer, default: 3, minimum: 1, maximum: 50}",
        "{type: number, default: 3}",
        "{type: array, default: [3, 5, 7]}",
        "{type: object, default: {a: 1}}",
        "{default: anything}",
        "{default: regressor, enum: [classifier, regressor]}",
    ],
)
def test_a_default_that_fits_its_declaration_is_accepted(check, declaration):
    assert check(PIPELINE.format(declaration=declaration)).ok
