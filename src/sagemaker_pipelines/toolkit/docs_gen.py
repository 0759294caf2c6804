"""``docs``: ``docs/pipeline-reference.md``, generated from the JSON Schemas so it never drifts.

Every field of a pipeline (top level, nested blocks, each task kind) and of an environment file gets a
row: type, required or optional, default (the "Default: ..." of its description), allowed values
(long enums summarised), the format its pattern stands for, description and an example. ``--check``
(and a test) fail when the committed file differs from what the schemas say.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sagemaker_pipelines.compile.kinds import ALIASES, KINDS
from sagemaker_pipelines.compile.kinds.context import RESOURCE_DEFAULTS
from sagemaker_pipelines.compile.kinds.spec import ENVIRONMENT_ARGUMENTS
from sagemaker_pipelines.paths import CHECKOUT_ROOT, schemas_dir

REFERENCE_PATH = CHECKOUT_ROOT / "docs" / "pipeline-reference.md"
_LONG_ENUM = 12  # more values than this are summarised
_TASK_SUFFIX = "_task"
_TYPE_WORDS = {"object": "mapping", "array": "list"}
_COLUMNS = ("Field", "Type", "Required", "Default", "Allowed values", "Description", "Example")
_ENVIRONMENT_ANCHOR = "#arguments-the-environment-sets"


def load(name: str) -> dict:
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def _prose(text: str) -> str:
    """Schema text as Markdown: '<name>' outside code spans must not read as an HTML tag."""
    parts = re.split(r"(`+[^`]*`+)", text.replace("\n", " "))
    escaped = [p if p.startswith("`") else p.replace("<", "&lt;").replace(">", "&gt;") for p in parts]
    return "".join(escaped).strip()


def _cell(text: str) -> str:
    """One table cell: prose without newlines, pipes escaped."""
    return _prose(text).replace("|", "\\|")


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _plural(title: str) -> str:
    words = re.sub(r"^(a|an) ", "", title)
    head, sep, tail = words.partition(" like ")
    return (head if head.endswith("s") else head + "s") + (sep + tail if sep else "")


def default_of(description: str) -> str:
    """The default a description states: "Default: X.", "(default: X)", "(default from X)"."""
    match = re.search(r"(?:^|[\s(;])[Dd]efault(?::\s*|\s+(?=from |per ))", description)
    if not match:
        return ""
    text = description[match.end() :]
    depth, out = 0, []
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (char == ";" or (char == "." and text[i + 1 : i + 2] in ("", " "))):
            break
        out.append(char)
    return "".join(out).strip()


class _Writer:
    def __init__(self, schema: dict, defaults: dict[str, dict] | None = None):
        self.schema = schema
        self.defs: dict[str, dict] = schema.get("$defs", {})
        self.defaults = defaults or {}  # field path -> built-in defaults of its properties

    def deref(self, node: dict) -> tuple[dict, str | None]:
        """The node merged over what its ``$ref`` points to, and the referenced name."""
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return node, None
        name = ref.removeprefix("#/$defs/")
        target, _ = self.deref(self.defs.get(name, {}))
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}, name

    # --- one cell each -----------------------------------------------------------------------------

    def type_of(self, node: dict) -> str:
        merged, ref = self.deref(node)
        if ref is not None and (ref.endswith(_TASK_SUFFIX) or ref == "task"):
            return "[task](#tasks)"
        if ref:
            return f"[{ref}](#format-{ref.replace('_', '-')})"
        if "const" in merged:
            return "string" if isinstance(merged["const"], str) else type(merged["const"]).__name__
        kind = merged.get("type")
        if isinstance(kind, list):
            words = [_TYPE_WORDS.get(k, k) for k in kind]
            return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
        if kind == "array":
            items = merged.get("items")
            return f"list of {self.type_of(items)}" if isinstance(items, dict) and items else "list"
        if kind:
            return _TYPE_WORDS.get(kind, kind)
        branches = merged.get("oneOf") or merged.get("anyOf")
        if branches:
            words = []
            for branch in branches:
                word = self.type_of(branch)
                if word not in words:
                    words.append(word)
            return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
        return "any"

    def allowed(self, node: dict) -> str:
        merged, ref = self.deref(node)
        own = {k for k in node if k not in ("$ref", "description", "examples", "title")}
        if ref and not own and not merged.get("enum"):  # a named format: its title says it all
            return merged.get("title", "")
        parts = []
        if "const" in merged:
            parts.append(_code(merged["const"]))
        enum = merged.get("enum")
        if enum:
            if len(enum) > _LONG_ENUM:
                title = merged.get("title")
                what = _plural(title) if title else "values"
                example = (merged.get("examples") or enum)[0]
                parts.append(f"{len(enum)} {what}, e.g. {_code(example)}")
            else:
                parts.append(", ".join(_code(v) for v in enum))
        elif merged.get("title") and merged.get("type") not in ("object", None) and "pattern" in merged:
            parts.append(merged["title"])
        elif "pattern" in merged:
            parts.append(f"matching {_code(merged['pattern'])}")
        elif merged.get("title") and merged.get("type") != "object" and not merged.get("oneOf"):
            parts.append(merged["title"])
        bounds = self._bounds(merged)
        if bounds:
            parts.append(bounds)
        for branch in merged.get("oneOf") or merged.get("anyOf") or []:
            branch_merged, _ = self.deref(branch)
            words = self.allowed(branch) if not branch_merged.get("title") else branch_merged["title"]
            if branch_merged.get("enum") and branch_merged.get("title"):
                words += ": " + self.allowed({k: v for k, v in branch_merged.items() if k != "title"})
            if words and words not in parts:
                parts.append(words)
        names = merged.get("propertyNames")
        if isinstance(names, dict) and names.get("title"):
            parts.append(f"keys: {names['title']}")
        return "; ".join(parts)

    @staticmethod
    def _bounds(node: dict) -> str:
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{low} to {high}"
        if low is not None:
            return f"at least {low}"
        if high is not None:
            return f"at most {high}"
        if node.get("maxLength") and not node.get("pattern"):
            return f"at most {node['maxLength']} characters"
        if node.get("maxLength"):
            return f"at most {node['maxLength']} characters"
        return ""

    def example(self, node: dict) -> str:
        merged, _ = self.deref(node)
        examples = node.get("examples") or merged.get("examples")
        return _code(examples[0]) if examples else ""

    # --- rows -------------------------------------------------------------------------------------

    def rows(self, node: dict, prefix: str = "") -> list[list[str]]:
        """A row per property of ``node`` (an object schema), then rows of the properties' own fields."""
        merged, _ = self.deref(node)
        extra_default = self.defaults.get(prefix.removesuffix("."), {})
        required = set(merged.get("required", []))
        rows = []
        for name, prop in merged.get("properties", {}).items():
            field = f"{prefix}{name}"
            description = prop.get("description") or self.deref(prop)[0].get("description", "")
            default = default_of(description)
            if not default and "default" in prop:
                default = _code(prop["default"])
            if not default and name in extra_default:
                default = _code(extra_default[name])
            rows.append(
                [
                    f"`{field}`",
                    self.type_of(prop),
                    "**required**" if name in required else "optional",
                    default,
                    self.allowed(prop),
                    description,
                    self.example(prop),
                ]
            )
            rows += self.nested(prop, field)
        return rows

    def nested(self, prop: dict, field: str) -> list[list[str]]:
        """Rows of what a field contains: its properties, its map values, its list items."""
        merged, ref = self.deref(prop)
        if ref == "task" or (ref or "").endswith(_TASK_SUFFIX):
            return []
        rows = []
        if merged.get("properties"):
            rows += self.rows(merged, f"{field}.")
        values = merged.get("additionalProperties")
        if isinstance(values, dict) and values:
            values_merged, values_ref = self.deref(values)
            if values_ref != "task":
                entry = f"{field}.<name>"
                rows.append(
                    [
                        f"`{entry}`",
                        self.type_of(values),
                        "",
                        "",
                        self.allowed(values),
                        values.get("description") or values_merged.get("description", ""),
                        self.example(values),
                    ]
                )
                rows += self.nested(values, entry)
        items = merged.get("items")
        if isinstance(items, dict) and self.deref(items)[0].get("properties"):
            rows += self.rows(items, f"{field}[].")
        for branch in merged.get("oneOf") or merged.get("anyOf") or []:
            branch_merged, _ = self.deref(branch)
            if branch_merged.get("properties"):
                rows += self.rows(branch_merged, f"{field}.")
            branch_items = branch_merged.get("items")
            if isinstance(branch_items, dict) and self.deref(branch_items)[0].get("properties"):
                rows += self.rows(branch_items, f"{field}[].")
        return rows


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _kind_names(schema: dict) -> list[str]:
    return [name.removesuffix(_TASK_SUFFIX) for name in schema["$defs"] if name.endswith(_TASK_SUFFIX)]


def _one_of_note(kind: str) -> str:
    groups = KINDS[kind].one_of if kind in KINDS else ()
    return " ".join(f"Give exactly one of {', '.join(f'`{f}`' for f in group)}." for group in groups)


def _outputs_note(kind: str) -> str:
    outputs = KINDS[kind].outputs if kind in KINDS else {}
    shown = {"required": ".<key>", "optional": "[.<key>]"}
    items = [f"`{name}{shown.get(o.keys, '')}` ({o.doc})" for name, o in outputs.items()]
    return f"Outputs, as `${{tasks.<id>.<output>}}`: {'; '.join(items)}." if items else ""


def environment_arguments() -> list[str]:
    """The operator arguments compile sets from the environment for every kind, and why."""
    out = [
        "### Arguments the environment sets",
        "",
        "A kind passes its operator the operator's own defaults, except where its section below says why",
        "not, and except these arguments, which every kind that takes them gets from the environment",
        "file unless the task (or, for the AWS connection and region, the pipeline) sets its own:",
        "",
        "| Argument | Ours, and why |",
        "|---|---|",
    ]
    return out + [f"| `{name}` | {_cell(reason)} |" for name, reason in ENVIRONMENT_ARGUMENTS.items()]


def _operator_default(dotted: str, argument: str) -> str:
    from sagemaker_pipelines.compile.kinds.operator_defaults import operator_class, operator_defaults

    value = operator_defaults(operator_class(dotted))[argument]
    try:
        return _code(json.dumps(value))
    except TypeError:
        return _code(repr(value))


def defaults_note(kind: str) -> list[str]:
    """Whose defaults a kind's arguments are: its operator's, apart from the environment's arguments and
    those its spec says differ (with the reason)."""
    environment = f"[the arguments the environment sets]({_ENVIRONMENT_ANCHOR})"
    if kind in ALIASES:
        targets = " or ".join(f"[`{t}`](#kind-{t.replace('_', '-')})" for t in ALIASES[kind].targets)
        return [f"Defaults: those of the kind it becomes, {targets}."]
    spec = KINDS[kind]
    if spec.operator_of is not None:
        return [f"Defaults: those of the class it names, apart from {environment}."]
    from sagemaker_pipelines.compile.kinds.operator_defaults import operator_class, provider_class

    provider = provider_class(operator_class(spec.operator))
    name = f"`{provider.__name__}`"
    if not spec.differs:
        return [f"Defaults: {name}'s, apart from {environment}."]
    out = [
        f"Defaults: {name}'s, apart from {environment} and these:",
        "",
        "| Argument | The operator's default | Ours, and why |",
        "|---|---|---|",
    ]
    out += [
        f"| `{argument}` | {_operator_default(spec.operator, argument)} | {_cell(reason)} |"
        for argument, reason in spec.differs.items()
    ]
    return out


def format_versions() -> list[str]:
    """The section on format versions, from the version table and the migrations (format/migrations.py)."""
    from sagemaker_pipelines.format.migrations import MIGRATIONS
    from sagemaker_pipelines.format.versions import CURRENT, OLDEST, schema_url

    out = [
        "## Format versions",
        "",
        "A change to the format that would change what a written file means, or whether it is valid, makes",
        f"a new version, named by its month. The current version is `{CURRENT}`. A file says which version",
        "it is written in with the schema its first line names (which is also the schema editors check",
        "it against):",
        "",
        "```yaml",
        f"# yaml-language-server: $schema={schema_url(CURRENT)}",
        "```",
        "",
        "A file whose schema URL names no version (`../schemas/pipeline.authored.schema.json`) is read",
        f"as `{OLDEST}`, the format of every file written before versions existed. `validate` reads a file",
        "of an older version through the migrations below, in memory, and reports problems at the lines",
        "as written; `make migrate` rewrites files in the current version (comments and layout kept,",
        "`CHECK=1` for CI); a file written for a version newer than the installation is refused: upgrade.",
        "",
        "| version | changed from the version before |",
        "|---|---|",
        f"| `{OLDEST}` | the format before versions |",
    ]
    out += [f"| `{m.target}` | {_prose(m.summary)} |" for m in MIGRATIONS]
    return [*out, ""]


def render(pipeline: dict | None = None, environment: dict | None = None) -> str:
    pipeline = pipeline or load("pipeline")
    environment = environment or load("environment")
    writer = _Writer(pipeline, {"defaults": RESOURCE_DEFAULTS})
    kinds = _kind_names(pipeline)
    formats = [n for n in pipeline["$defs"] if not n.endswith(_TASK_SUFFIX) and n != "task"]
    out = [
        "# Pipeline reference",
        "",
        "<!-- Generated by `make docs` (sagemaker-pipelines docs) from schemas/*.schema.json:",
        "     do not edit by hand; change the schema and run `make docs`. -->",
        "",
        _prose(pipeline.get("description", "")),
        "",
        "Start one with `make new NAME=my_pipeline` (templates: `training`, `batch-inference`, `deploy`),",
        "check it with `make validate` and see the SageMaker requests it becomes with",
        "`make render PIPELINE=my_pipeline`.",
        "",
        "Strings may use references: `${env.<name>}` (a value of the environment), `${s3.bucket}` and",
        "`${s3.<prefix>}` (S3 locations of the `s3` block), `${params.<name>}` (a run parameter, Jinja",
        "`{{ params.<name> }}` at run time), `${dag_id}`, and `${tasks.<id>.<output>}`: what another task",
        "produced (its outputs are listed with each kind below), read from its XCom at run time; that task",
        "becomes an upstream, and the value may stand in any field the operator renders at run time.",
        "",
        "- [Top-level fields](#top-level-fields)",
        "- [Tasks](#tasks): " + ", ".join(f"[`{k}`](#kind-{k.replace('_', '-')})" for k in kinds),
        "- [Value formats](#value-formats)",
        "- [Environment files](#environment-files)",
        "- [Format versions](#format-versions)",
        "",
        "## Top-level fields",
        "",
        *_table(writer.rows(pipeline)),
    ]
    task = pipeline["$defs"].get("task", {})
    out += [
        "",
        "## Tasks",
        "",
        f"{_prose(task.get('description', ''))} Every task is an entry of `tasks:`, keyed by its task id.",
        "",
        "| Kind | What it does |",
        "|---|---|",
    ]
    for kind in kinds:
        description = pipeline["$defs"][f"{kind}{_TASK_SUFFIX}"].get("description", "")
        out.append(f"| [`{kind}`](#kind-{kind.replace('_', '-')}) | {_cell(description)} |")
    out += ["", *environment_arguments()]
    for kind in kinds:
        definition = pipeline["$defs"][f"{kind}{_TASK_SUFFIX}"]
        note = " ".join(n for n in (_one_of_note(kind), _outputs_note(kind)) if n)
        text = _prose(definition.get("description", "")) + (f" {note}" if note else "")
        out += ["", f"### Kind: `{kind}`", "", text]
        example = definition.get("examples")
        out += ["", *defaults_note(kind)]
        out += ["", *_table(writer.rows(definition))]
        if example and len(example[0]) > 1:
            out += ["", "```yaml", *_yaml_lines({"my_task": example[0]}), "```"]
    out += ["", "## Value formats", "", "Field types above link here.", ""]
    for name in formats:
        node = pipeline["$defs"][name]
        out += [f"### Format: `{name}`", "", _prose(node.get("description", ""))]
        facts = []
        allowed = writer.allowed(node)
        if allowed:
            facts.append(f"- Allowed: {_prose(allowed)}")
        if "pattern" in node:
            facts.append(f"- Pattern: {_code(node['pattern'])}")
        if node.get("examples"):
            facts.append("- Examples: " + ", ".join(_code(e) for e in node["examples"]))
        out += ["", *facts, ""] if facts else [""]
    env_writer = _Writer(environment)
    out += [
        "## Environment files",
        "",
        f"{_prose(environment.get('description', ''))} One file per environment: `environments/<name>.yaml`;",
        "`SAGEMAKER_PIPELINES_ENV` (or the Airflow Variable `sagemaker_pipelines_env`) chooses it,",
        "`local` by default.",
        "",
        *_table(env_writer.rows(environment)),
        "",
        *format_versions(),
    ]
    return "\n".join(out)


def _yaml_lines(value: dict) -> list[str]:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, default_flow_style=None, width=100).splitlines()


def generate(path: Path | None = None) -> Path:
    path = path or REFERENCE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def is_stale(path: Path | None = None) -> bool:
    path = path or REFERENCE_PATH
    try:
        return path.read_text(encoding="utf-8") != render()
    except OSError:
        return True
