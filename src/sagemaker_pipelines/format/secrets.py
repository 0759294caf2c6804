"""Secrets that must not be written in YAML, and templates that would print them in task logs.

Pipeline and environment files live in git and are shown in Airflow's UI (the DAG's docs hold the YAML),
so a credential written there is leaked. Three ways to find one, over every key and string value:

- the key's name, in any case style (``dbPassword``, ``secret-access-key``, ``API_TOKEN``): split into
  words, a key naming a password, token, secret, passphrase, API/access/private key or credentials is a
  problem whatever its value; a weaker name (``key``, ``auth``, ``signature``, ``salt``) only with a
  random-looking value. Keys that say where a secret is kept (``password_conn_id``, ``secret_arn``,
  ``token_variable``) or measure one (``max_tokens``, ``password_length``) are fine;
- the value's form, under any key: AWS access key ids and secret keys, GitHub, GitLab, Slack (tokens and
  webhooks), Stripe, Google, OpenAI/Anthropic, Hugging Face and npm tokens, JWTs, PEM private keys,
  Azure storage keys and URLs with a password (``https://user:pw@host``);
- Jinja templates: Airflow renders them when the task runs and logs the rendered fields, so one that
  reads a connection or a Variable (``{{ conn.db.password }}``, ``{{ var.value.token }}``), or reaches
  them another way, is refused unless the environment allows ``conn``/``var`` (``allow_templates``).
  ``templates.py`` parses each template and says what it may not do.
"""

from __future__ import annotations

import collections
import itertools
import math
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from sagemaker_pipelines.format.templates import SCOPES, Refusal, check_template
from sagemaker_pipelines.format.yaml_source import Document
from sagemaker_pipelines.problems import Code, Problem, field_path

TEMPLATE_SCOPES = tuple(SCOPES)
_TEMPLATE_USES = (
    "the run's dates and ids (ds, ts, logical_date, data_interval_start, run_id...), params.<name>, "
    "dag_run.conf, ti.xcom_pull(...), macros.ds_add/ds_format, filters such as upper or ts_nodash, "
    "{% if %} and {% for %} (docs/security.md)"
)

# Words that name a secret on their own, and pairs of words that do together.
_SECRET_WORDS = {
    "password", "passwd", "pwd", "passphrase", "passcode", "secret", "secrets", "token", "credential",
    "credentials", "apikey", "accesskey", "secretkey", "privatekey", "authtoken", "accesstoken",
    "refreshtoken", "bearer", "clientsecret", "sessiontoken",
}  # fmt: skip
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
)
_SECRET_PAIRS = {
    ("api", "key"), ("access", "key"), ("secret", "key"), ("private", "key"), ("session", "key"),
    ("signing", "key"), ("encryption", "key"), ("master", "key"), ("account", "key"), ("auth", "token"),
    ("client", "secret"), ("shared", "key"), ("app", "key"),
}  # fmt: skip
# Words that name a secret only when the value looks random.
_WEAK_WORDS = {"key", "auth", "signature", "sig", "salt", "hmac", "cert", "pass", "cookie", "session", "pin"}
# A key ending so says where the secret is kept or what it is like, not the secret itself.
_POINTER_ENDINGS = [
    ("arn",), ("conn", "id"), ("connection", "id"), ("conn",), ("secret", "id"), ("secret", "name"),
    ("name",), ("variable",), ("var",), ("env",), ("file",), ("path",), ("parameter",), ("param",),
    ("count",), ("counts",), ("limit",), ("length",), ("len",), ("size",), ("type",), ("kind",),
    ("policy",), ("rotation",), ("ttl",), ("expiry",), ("expiration",), ("format",), ("uri",), ("url",),
]  # fmt: skip
_NOT_SECRET_WORDS = {
    "kms",
    "tokenizer",
    "tokens",
    "next",
    "continuation",
    "idempotency",
    "page",
    "max",
    "num",
}

_FORMATS = [
    (r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}\b", "an AWS access key id"),  # noqa: E501
    (r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", "a private key"),
    (r"\bxox[abposr]-[0-9A-Za-z-]{10,}", "a Slack token"),
    (r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{16,}", "a Slack webhook URL"),
    (r"\bgh[pousr]_[0-9A-Za-z]{30,}|\bgithub_pat_[0-9A-Za-z_]{22,}", "a GitHub token"),
    (r"\bglpat-[0-9A-Za-z_-]{20,}", "a GitLab token"),
    (r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}|\bwhsec_[0-9A-Za-z]{24,}", "a Stripe secret key"),
    (r"\bAIza[0-9A-Za-z_-]{35}", "a Google API key"),
    (r"\bGOCSPX-[0-9A-Za-z_-]{20,}", "a Google OAuth client secret"),
    (r"\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}", "a JSON Web Token"),
    (r"\bsk-(?:proj-|ant-[a-z0-9]+-)?[0-9A-Za-z_-]{32,}", "an OpenAI or Anthropic API key"),
    (r"\bhf_[0-9A-Za-z]{30,}", "a Hugging Face token"),
    (r"\bnpm_[0-9A-Za-z]{36}\b", "an npm token"),
    (r"AccountKey=[0-9A-Za-z+/=]{40,}", "an Azure storage key"),
    (r"\b[a-z][a-z0-9+.-]*://[^\s/:@${}]+:(?!\$\{|\{\{)[^\s/@]+@", "a URL with a password"),
]  # fmt: skip
_FORMAT_PREFILTER = re.compile(  # one cheap search before the patterns: most values match none
    r"AKIA|ASIA|A[BCGIKNPRS][A-Z]A|-----BEGIN|xox|hooks\.slack|gh[pousr]_|github_pat|glpat|"
    r"[rs]k_|whsec_|AIza|GOCSPX|eyJ|sk-|hf_|npm_|AccountKey|://[^\s/]*@"
)
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_WORDY_SEGMENT = re.compile(r"[A-Z]?[a-z]{2,}(?:[A-Z][a-z]+)*[0-9]*")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@cache
def _format_patterns() -> list[tuple[re.Pattern[str], str]]:
    """The secret formats, compiled on the first value the prefilter lets through: most pipelines have
    none, and each fresh process that parses a DAG file would otherwise compile all of them."""
    return [(re.compile(pattern), what) for pattern, what in _FORMATS]


def key_words(key: str) -> list[str]:
    """``dbPassword`` -> [db, password]; ``AWS_SECRET_ACCESS_KEY`` -> [aws, secret, access, key]."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", key) for w in _WORD.findall(part)]


@lru_cache(maxsize=8192)
def _key_kind(key: str) -> str:
    """``strong`` (any value is a secret), ``weak`` (a random-looking value is) or ``""``. Cached: every
    pipeline repeats the same few hundred field names, and splitting each into words was a third of the
    scan."""
    words = key_words(key)
    if not words or _NOT_SECRET_WORDS & set(words):
        return ""
    if any(tuple(words[-len(end) :]) == end for end in _POINTER_ENDINGS if len(words) > len(end)):
        return ""
    if (
        _SECRET_WORDS & set(words)
        or any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))
        or any(w.endswith(_SECRET_SUFFIXES) for w in words)
    ):
        return "strong"
    return "weak" if _WEAK_WORDS & set(words) else ""


def _entropy(text: str) -> float:
    counts = collections.Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_random(text: str) -> bool:
    """A value like a generated key: long, no spaces, mixed characters, high entropy, not a path or URI."""
    if len(text) < 16 or any(c.isspace() for c in text) or "://" in text or "${" in text or "{{" in text:
        return False
    classes = sum(any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit))
    return classes >= 2 and _entropy(text) >= 3.5 and text.count("/") < 2


def _aws_secret_key(text: str) -> bool:
    """A whole value that is an AWS secret access key: 40 base64 characters, mixed case and digits,
    random (not a 40-character path of words like ``Models/XGBoost2021/TrainingJobs/Run12345``)."""
    text = text.strip()
    if len(text) != 40 or not _AWS_SECRET.fullmatch(text):
        return False
    if not (
        any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)
    ):
        return False
    wordy = [s for s in text.split("/") if len(s) >= 4 and _WORDY_SEGMENT.fullmatch(s)]
    return _entropy(text) >= 4.25 and text.count("/") <= 3 and len(wordy) < 3


def value_secret(text: str) -> str:
    """What a string value looks like when it holds a known kind of secret, else ``""``."""
    if _FORMAT_PREFILTER.search(text):
        for pattern, what in _format_patterns():
            if pattern.search(text):
                return what
    return "an AWS secret access key" if _aws_secret_key(text) else ""


def template_problem(refusals: list[Refusal]) -> tuple[str, str]:
    """The message and hint for a template with ``refusals``: reading a connection or Variable is said
    as such (an environment may allow it); anything else names what was refused and what is allowed."""
    scopes = sorted({r.scope for r in refusals if r.scope})
    others = [r.what for r in refusals if not r.scope]
    if scopes and not others:
        kinds = " and ".join(SCOPES[s] for s in scopes)
        return (
            f"this template reads {kinds} when the task runs, and Airflow logs the rendered value",
            "pass the conn_id or Variable name to the task and read it there; or allow it for this "
            f"environment: allow_templates: [{', '.join(scopes)}] in its environment file",
        )
    shown = "; ".join([*(r.what for r in refusals if r.scope), *others][:3])
    more = f" (and {len(refusals) - 3} more)" if len(refusals) > 3 else ""
    if refusals[0].form == "syntax":
        return (
            f"this value is not a template Airflow can render: {shown}",
            "Airflow renders it when the task runs; to write braces as text: {{ '{{' }}",
        )
    if refusals[0].form == "nesting":
        return (
            f"this template is too deeply nested to check: {shown}",
            "split it into simpler expressions; to write braces as text: {{ '{{' }}",
        )
    return (
        f"this template uses {shown}{more}: a pipeline template may not, since Airflow renders it with "
        "the task's context, which reaches connections and Variables, and logs the result",
        f"a template may use {_TEMPLATE_USES}",
    )


def _may_report(text: str) -> bool:
    """Whether :meth:`_Scanner.string` could find anything in ``text``: a template needs a brace, a known
    secret form the prefilter, an AWS secret key 40 characters; most values have none of them."""
    return "{" in text or len(text) >= 40 or _FORMAT_PREFILTER.search(text) is not None


class _Scanner:
    def __init__(self, doc: Document, file: str, where: str, allow_templates: Iterable[str]):
        self.doc = doc
        self.file = file
        self.where = where
        self.allowed = set(allow_templates)
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str, hint: str, code: str = Code.SECRET, value: bool = False) -> None:
        line, col = self.doc.value_position(path) if value else self.doc.position(path)
        self.problems.append(Problem(self.file, line, col, field_path(path), message, hint, code=code))

    def walk(self, data: Any) -> None:
        if isinstance(data, str):
            self.string((), data)
        stack: list[tuple[tuple, Any]] = [((), data)]  # iterative: any depth the loader allows
        while stack:  # a path is built for a collection, or for a string with something to report
            path, value = stack.pop()
            if isinstance(value, dict):
                pairs: Iterable[tuple[Any, Any]] = value.items()
            elif isinstance(value, list):
                pairs = enumerate(value)
            else:
                continue
            is_map = isinstance(value, dict)
            for key, item in pairs:
                if is_map and self.key(path, key, item):
                    continue
                if isinstance(item, dict | list):
                    stack.append(((*path, key), item))
                elif isinstance(item, str) and _may_report(item):
                    self.string((*path, key), item)

    def key(self, path: tuple, key: Any, value: Any) -> bool:
        """Report a secret-looking key with a scalar value; True when reported (nothing more to say)."""
        if (
            not isinstance(key, str)
            or isinstance(value, dict | list)
            or value is None
            or isinstance(value, bool)
        ):
            return False
        kind = _key_kind(key)
        if not kind or (kind == "weak" and not (isinstance(value, str) and looks_random(value))):
            return False
        if isinstance(value, str) and (not value.strip() or "${" in value or "{{" in value):
            return False  # a reference or a template: the environment file or the template rule decides
        self.add(
            (*path, key),
            f"'{key}' looks like a secret; secrets must not be written in {self.where}",
            "keep them in an Airflow connection or secrets backend and refer to its conn_id",
        )
        return True

    def string(self, path: tuple, text: str) -> None:
        what = value_secret(text)
        if what:
            self.add(
                path,
                f"this value looks like {what}; secrets must not be written in {self.where}",
                "keep them in an Airflow connection or secrets backend",
                value=True,
            )
        refusals = check_template(text, self.allowed)
        if refusals:
            message, hint = template_problem(refusals)
            self.add(path, message, hint, code=Code.TEMPLATE, value=True)


def scan_resolved(doc: Document, data: Any, file: str, allow_templates: Iterable[str] = ()) -> list[Problem]:
    """Refused templates that only exist once ``${...}`` references are resolved (``data``): a reference
    to an S3 prefix or environment value ending in ``{`` followed by ``{ conn.x.password }}`` spells a
    template that no YAML value holds. Values unchanged by resolving were checked by ``scan``."""
    allowed = set(allow_templates)
    problems: list[Problem] = []
    stack: list[tuple[tuple, Any, Any]] = [((), data, doc.data)]
    while stack:
        path, value, raw = stack.pop()
        if isinstance(value, dict):
            raws = raw if isinstance(raw, dict) else {}
            stack.extend(((*path, k), v, raws.get(k)) for k, v in value.items())
        elif isinstance(value, list):
            raws = raw if isinstance(raw, list) else []
            stack.extend(((*path, i), v, raws[i] if i < len(raws) else None) for i, v in enumerate(value))
        elif isinstance(value, str) and value != raw:
            refusals = check_template(value, allowed)
            if refusals:
                message, hint = template_problem(refusals)
                line, col = doc.value_position(path)
                message += " (once its ${...} references are resolved)"
                problems.append(Problem(file, line, col, field_path(path), message, hint, code=Code.TEMPLATE))
    return sorted(problems)


def scan(
    doc: Document, file: str, where: str = "pipeline YAML", allow_templates: Iterable[str] = ()
) -> list[Problem]:
    """Every secret and refused template in a loaded document (a pipeline or an environment file)."""
    scanner = _Scanner(doc, file, where, allow_templates)
    scanner.walk(doc.data)
    return sorted(scanner.problems)
