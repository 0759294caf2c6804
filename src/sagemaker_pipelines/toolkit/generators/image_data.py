"""``compile/image_data.json`` and the schema's image lists, from the SageMaker Python SDK's image data.

The SDK publishes where every built-in algorithm and framework container lives (registry account per
region, repository, version aliases, Python versions, processors) as ``image_uri_config/*.json`` in
``sagemaker-core``. That package cannot be installed beside Airflow (its dependencies conflict), so
``make install`` adds it with ``--no-deps`` from ``requirements-image-data.txt``; this generator only
reads its JSON files (it never imports the SDK) and writes what the compiler needs, so nothing of the
SDK is needed at run time:

- every built-in algorithm (a first-party image used for training and inference), with the tag
  ``image_uris.retrieve`` gives it (``knn:1``), in every region it is published in;
- every version of the script-mode frameworks (scikit-learn, XGBoost, PyTorch), aliases included, for
  training and for inference, with the SDK's tag for a CPU instance (``1.2-1-cpu-py3``);
- each region's ECR host name, from botocore's endpoint data as the SDK takes it;
- the legacy images the SDK still lists beside a built-in algorithm's current one (``xgboost:1``, the
  XGBoost algorithm before its framework container), each with the algorithm that replaces it, so
  ``validate`` can warn and the local endpoint can run them as their current equivalent.

The source schema gets the algorithm and region lists and, per framework, the versions it accepts.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.regions

DISTRIBUTION = "sagemaker-core"
CONFIG_DIR = "sagemaker/core/image_uri_config"
# Our framework name -> the SDK config holding its containers.
FRAMEWORK_CONFIGS = {"pytorch": "pytorch", "sklearn": "sklearn", "xgboost": "xgboost"}
# The version a task gets when it names none (the SDK always asks for one).
DEFAULT_VERSIONS = {"pytorch": "2.1", "sklearn": "1.2-1", "xgboost": "1.7-1"}
# ``algorithm: xgboost`` is SageMaker's XGBoost algorithm: the framework container, run without a script.
BUILTIN_XGBOOST_VERSION = "1.7-1"
SCOPES = ("training", "inference")
# Listed in xgboost.json but no framework container: the legacy XGBoost algorithm image (repository
# "xgboost", no script mode).
NOT_FRAMEWORK_VERSIONS = {("xgboost", "1"), ("xgboost", "latest")}

Configs = dict[str, dict[str, Any]]


class ImageDataMissing(Exception):
    """The SDK's image data is not installed (``make install`` installs it)."""


def installed_configs() -> tuple[str, Configs]:
    """(sagemaker-core version, config name -> parsed JSON) from the installed distribution."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ImageDataMissing(
            f"{DISTRIBUTION} is not installed: run 'make install' (requirements-image-data.txt)"
        ) from exc
    configs = {
        Path(str(f)).stem: json.loads(f.read_text(encoding="utf-8"))
        for f in dist.files or []
        if str(f).startswith(f"{CONFIG_DIR}/") and str(f).endswith(".json")
    }
    return dist.version, configs


def wheel_configs(wheel: Path) -> tuple[str, Configs]:
    """The same from a downloaded ``sagemaker_core-<version>-*.whl`` (no installation needed)."""
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(f"{CONFIG_DIR}/") and n.endswith(".json")]
        return version, {Path(n).stem: json.loads(archive.read(n)) for n in names}


def is_algorithm(config: dict) -> bool:
    """A first-party algorithm: one image for training and inference, with no framework variants."""
    versions = config.get("versions")
    if not {"training", "inference"} <= set(config.get("scope", [])) or not isinstance(versions, dict):
        return False
    plain = ("registries", "repository")
    return all(isinstance(v, dict) and set(v) <= set(plain) for v in versions.values())


def build(sdk_version: str, configs: Configs) -> dict[str, Any]:
    """The image table the compiler reads: plain data, registry tables shared where equal."""
    accounts = _Accounts()
    algorithms = {}
    for name in sorted(n for n, c in configs.items() if is_algorithm(c)):
        config = configs[name]
        version = sorted(config["versions"], key=_version_key)[-1]
        entry = config["versions"][version]
        algorithms[name] = {
            "repository": entry["repository"],
            "tag": version,
            "accounts": accounts.id(entry["registries"]),
        }
    frameworks = {}
    for name, config_name in FRAMEWORK_CONFIGS.items():
        config = configs[config_name]
        frameworks[name] = {"default": DEFAULT_VERSIONS[name]}
        for scope in SCOPES:
            frameworks[name][scope] = _framework_scope(name, config[scope], accounts)
    xgboost = frameworks["xgboost"]["training"][BUILTIN_XGBOOST_VERSION]
    algorithms["xgboost"] = {key: xgboost[key] for key in ("repository", "tag", "accounts")}
    legacy = _legacy(configs, algorithms, accounts)
    regions = sorted({r for table in accounts.tables.values() for r in table})
    return {
        "source": f"{DISTRIBUTION} {sdk_version}: {CONFIG_DIR}/*.json (generated by make schemas)",
        "hosts": {region: _ecr_host(region) for region in regions},
        "accounts": accounts.tables,
        "algorithms": dict(sorted(algorithms.items())),
        "frameworks": frameworks,
        "legacy": legacy,
    }


def _legacy(configs: Configs, algorithms: dict[str, dict], accounts: _Accounts) -> list[dict[str, Any]]:
    """Plain images (registries and repository only) of a framework config that are no framework
    container: an algorithm's image from before it had one, replaced by the algorithm of that name."""
    found = []
    for name, config_name in FRAMEWORK_CONFIGS.items():
        if name not in algorithms:
            continue
        training = configs[config_name]["training"]["versions"]
        for version, entry in sorted(training.items()):
            if (name, version) in NOT_FRAMEWORK_VERSIONS and set(entry) == {"registries", "repository"}:
                found.append(
                    {
                        "repository": entry["repository"],
                        "tag": version,
                        "accounts": accounts.id(entry["registries"]),
                        "current": name,
                    }
                )
    return found


def _framework_scope(name: str, scope: dict, accounts: _Accounts) -> dict[str, dict]:
    """Every version string a scope accepts (aliases too, as the SDK does) -> repository, tag, accounts.

    The tag follows ``image_uris.retrieve``: ``<version or tag_prefix>-<processor>-<py version>``, where
    an alias stays in the tag as written (``2.1-cpu-py310``) and the processor is the CPU one."""
    aliases = scope.get("version_aliases", {})
    out = {}
    for requested in sorted({*scope["versions"], *aliases}, key=_version_key):
        if (name, requested) in NOT_FRAMEWORK_VERSIONS:
            continue
        config = scope["versions"][aliases.get(requested, requested)]
        if "repository" not in config:  # keyed by Python version: the newest one
            config = config[sorted(config, key=_version_key)[-1]]
        processors = scope.get("processors") or config.get("processors") or []
        processor = "cpu" if "cpu" in processors else (processors[0] if processors else None)
        container = config.get("container_version", {}).get(processor) if processor else None
        if config.get("processor_in_tag", True) is False:
            processor = None
        py_versions = config.get("py_versions") or []
        parts = (
            config.get("tag_prefix", requested),
            processor,
            py_versions[-1] if py_versions else None,
            container,
        )
        out[requested] = {
            "repository": config["repository"],
            "tag": "-".join(p for p in parts if p),
            "accounts": accounts.id(config["registries"]),
        }
    return out


class _Accounts:
    """Registry tables (region -> account) by a short id: most versions share the same table."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {}

    def id(self, table: dict[str, str]) -> str:
        table = dict(sorted(table.items()))
        for key, known in self.tables.items():
            if known == table:
                return key
        key = f"r{len(self.tables) + 1}"
        self.tables[key] = table
        return key


def _version_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]|(?<=py)(?=\d)", version))


_resolver: botocore.regions.EndpointResolver | None = None


def _ecr_host(region: str) -> str:
    """``ecr.<region>.<partition's domain>``: the host the SDK builds image URIs on."""
    global _resolver
    if _resolver is None:
        _resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    endpoint = _resolver.construct_endpoint("ecr", region)
    return endpoint["hostname"] if endpoint else f"ecr.{region}.amazonaws.com"


def apply(schema: dict, data: dict[str, Any]) -> dict:
    """``schema`` with the algorithm and region lists and the per-framework versions of ``data``."""
    defs = {**schema["$defs"]}
    for kind in ("training_task", "tuning_task"):
        properties = {**defs[kind]["properties"]}
        algorithm = {"title": "a SageMaker built-in algorithm", **properties["algorithm"]}
        properties["algorithm"] = {**algorithm, "enum": sorted(data["algorithms"])}
        defs[kind] = {**defs[kind], "properties": properties}
    rules = []
    for name, framework in data["frameworks"].items():
        versions = list(framework["training"])
        title = f"a {name} version: " + ", ".join(versions)
        condition = {"properties": {"framework": {"const": name}}, "required": ["framework"]}
        version = {
            "title": title,
            "description": f"A version {name} training containers are published in.",
            "examples": [framework["default"]],
            "enum": versions,
        }
        then = {"properties": {"framework_version": version}}
        rules.append({"if": condition, "then": then})
    defs["framework_versions"] = {
        "description": "The versions each script-mode framework's training containers are published in "
        "(generated from the SageMaker SDK's image data by make schemas).",
        "allOf": rules,
    }
    regions = sorted(
        {r for entry in data["algorithms"].values() for r in data["accounts"][entry["accounts"]]}
    )
    properties = {**schema["properties"], "region": {**schema["properties"]["region"], "enum": regions}}
    return {**schema, "properties": properties, "$defs": defs}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"
