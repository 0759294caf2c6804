"""What a pipeline's Jinja template may use: the allow-list ``templates.py`` walks a parsed template with.

Each name of Airflow's task context that a template may read has a kind, saying what may be done with
it next: plain data (``params``, ``dag_run.conf``, what ``ti.xcom_pull`` returned) takes any constant,
non-underscore field or index and a few string and mapping methods; a date takes date fields and
methods; an object (``ti``, ``dag_run``, ``dag``, ``task``, ``macros``) only the fields listed for it,
since its other attributes lead to the DAG, the task's context, hooks and so to connections and
Variables. Filters and tests are those that only transform a value. Everything not here is refused.
"""

from __future__ import annotations

# What a value is, for what may be done with it next.
DATA = "data"  # plain values: params, conf, XComs, literals, results of filters
DATE = "date"  # a date-time of the run
SCOPE = "scope"  # conn/var, where the environment allows them: any plain field
LOOP = "loop"  # the loop variable of {% for %}
REFUSED = "refused"  # already reported: nothing more to say about what follows

DATE_NAMES = (
    "logical_date", "data_interval_start", "data_interval_end", "prev_data_interval_start_success",
    "prev_data_interval_end_success", "prev_start_date_success", "prev_end_date_success",
)  # fmt: skip
DATA_NAMES = (
    "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id", "task_instance_key_str",
    "params", "expanded_ti_count", "map_index_template",
    "notification", "default_message", "reason",  # what a notifier's message sees (airflow/notifiers.py)
)  # fmt: skip
# Objects of the context: the fields a template may read (a kind) or call (``call:`` + the result's kind).
OBJECTS: dict[str, dict[str, str]] = {
    "ti": {
        "task_id": DATA, "dag_id": DATA, "run_id": DATA, "try_number": DATA, "map_index": DATA,
        "xcom_pull": "call:" + DATA,
    },
    "dag_run": {
        "run_id": DATA, "dag_id": DATA, "conf": DATA, "run_type": DATA, "logical_date": DATE,
        "run_after": DATE, "data_interval_start": DATE, "data_interval_end": DATE, "start_date": DATE,
    },
    "dag": {"dag_id": DATA, "owner": DATA, "description": DATA},
    "task": {"task_id": DATA},
    "macros": {
        "ds_add": "call:" + DATA, "ds_format": "call:" + DATA, "ds_format_locale": "call:" + DATA,
        "datetime_diff_for_humans": "call:" + DATA, "datetime": "call:" + DATE,
        "timedelta": "call:" + DATA, "random": "call:" + DATA,
    },
}  # fmt: skip
CONTEXT: dict[str, str] = {
    **dict.fromkeys(DATA_NAMES, DATA),
    **dict.fromkeys(DATE_NAMES, DATE),
    "ti": "ti",
    "task_instance": "ti",
    "dag_run": "dag_run",
    "dag": "dag",
    "task": "task",
    "macros": "macros",
}
DATE_FIELDS = {
    **dict.fromkeys(("year", "month", "day", "hour", "minute", "second", "microsecond"), DATA),
    **dict.fromkeys(("day_of_week", "day_of_year", "int_timestamp", "float_timestamp"), DATA),
    **dict.fromkeys(
        ("isoformat", "strftime", "format", "timestamp", "weekday", "isoweekday"), "call:" + DATA
    ),
    **dict.fromkeys(("to_date_string", "to_datetime_string", "to_iso8601_string"), "call:" + DATA),
    **dict.fromkeys(
        ("add", "subtract", "in_timezone", "in_tz", "start_of", "end_of", "date"), "call:" + DATE
    ),
}
DATA_METHODS = {
    "get", "keys", "values", "items", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower",
    "title", "capitalize", "replace", "startswith", "endswith", "join", "zfill", "count", "index", "find",
}  # fmt: skip
SCOPE_METHODS = {"get", "get_uri"}
LOOP_FIELDS = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"}
# Airflow's date filters and Jinja's built-ins that only transform a value: none takes an attribute name
# (``attr``, ``map``, ``selectattr``, ``groupby``, ``sort``, ``sum``... do) or prints an object's insides.
FILTERS = {
    "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz",
    "abs", "capitalize", "center", "default", "d", "escape", "e", "first", "float", "forceescape",
    "indent", "int", "join", "last", "length", "count", "list", "lower", "replace", "reverse", "round",
    "safe", "slice", "batch", "string", "striptags", "title", "tojson", "trim", "truncate", "upper",
    "urlencode", "urlize", "wordcount", "wordwrap", "filesizeformat", "items",
}  # fmt: skip
# Filters that read a field of each item by name: allowed with a constant, non-underscore field name
# (``selectattr('VariantName', 'equalto', 'x')``, ``map(attribute='Name')``).
FIELD_FILTERS = {"selectattr", "rejectattr", "map"}
TESTS = {
    "defined", "undefined", "none", "number", "string", "mapping", "sequence", "iterable", "boolean",
    "true", "false", "integer", "float", "lower", "upper", "eq", "ne", "lt", "le", "gt", "ge", "in",
    "equalto", "sameas", "divisibleby", "even", "odd", "escaped", "==", "!=", "<", "<=", ">", ">=",
    "greaterthan", "lessthan",
}  # fmt: skip
