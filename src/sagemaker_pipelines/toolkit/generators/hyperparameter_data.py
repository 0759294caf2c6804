"""``compile/hyperparameters.json``: the built-in algorithms' hyperparameters, from the SageMaker SDK v2.

The SageMaker Python SDK v2 (``sagemaker`` 2.x) declares each first-party algorithm's hyperparameters in
``sagemaker/amazon/<algorithm>.py`` as class attributes of its estimator, ``hp(name, validation,
message, data_type)``, where ``validation`` is built from ``ge``/``gt``/``le``/``lt``/``isin``, and marks
the ones a job needs as "Required." in the constructor's docstring. This generator reads that source
with :mod:`ast` (the SDK is never imported: its dependencies conflict with Airflow's, so ``make install``
adds it with ``--no-deps`` from ``requirements-image-data.txt``) and writes plain data: per algorithm,
each hyperparameter's type, bounds, allowed values and the SDK's own description, and which are required.

The SDK's algorithm names are mapped explicitly to the image table's (``compile/image_data.json``);
every algorithm of that table is either covered here or listed in :data:`NOT_CHECKED` with the reason,
which a test keeps true when the image table grows.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import zipfile
from pathlib import Path
from typing import Any

DISTRIBUTION = "sagemaker"
SOURCE_DIR = "sagemaker/amazon"
BASE = ("amazon_estimator.py", "AmazonAlgorithmEstimatorBase")
# Our algorithm name (the image table's) -> the SDK module and estimator class declaring its
# hyperparameters. The class's ``repo_name`` must be the same name (checked while generating).
ESTIMATORS: dict[str, tuple[str, str]] = {
    "factorization-machines": ("factorization_machines.py", "FactorizationMachines"),
    "ipinsights": ("ipinsights.py", "IPInsights"),
    "kmeans": ("kmeans.py", "KMeans"),
    "knn": ("knn.py", "KNN"),
    "lda": ("lda.py", "LDA"),
    "linear-learner": ("linear_learner.py", "LinearLearner"),
    "ntm": ("ntm.py", "NTM"),
    "object2vec": ("object2vec.py", "Object2Vec"),
    "pca": ("pca.py", "PCA"),
    "randomcutforest": ("randomcutforest.py", "RandomCutForest"),
}
_NO_SDK_CLASS = "the SDK v2 has no estimator class declaring its hyperparameters (only a generic Estimator)"
# Algorithms of the image table whose hyperparameters validate does not check, and why.
NOT_CHECKED: dict[str, str] = {
    "blazingtext": _NO_SDK_CLASS,
    "forecasting-deepar": _NO_SDK_CLASS,
    "image-classification": _NO_SDK_CLASS,
    "object-detection": _NO_SDK_CLASS,
    "semantic-segmentation": _NO_SDK_CLASS,
    "seq2seq": _NO_SDK_CLASS,
    "xgboost": "the SDK's XGBoost estimator is a script-mode framework that declares no hyperparameters, "
    "and the xgboost package publishes its parameters only as prose documentation (the SageMaker "
    "container adds its own, such as num_round)",
}
_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "list": "list"}
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}
_REQUIRED = re.compile(r"^\s*(\w+)\s*\([^)]*\):\s*Required\b", re.M)

Sources = dict[str, str]


class HyperparameterDataMissing(Exception):
    """The SDK v2 source is not installed (``make install`` installs it)."""


class UnknownSdkForm(Exception):
    """The SDK declares a hyperparameter in a form this generator does not know: extend it, never guess."""


def installed_sources() -> tuple[str, Sources]:
    """(SDK version, file name -> source) of ``sagemaker/amazon`` in the installed ``sagemaker`` 2.x."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise HyperparameterDataMissing(
            f"{DISTRIBUTION} 2.x is not installed: run 'make install' (requirements-image-data.txt)"
        ) from exc
    if not dist.version.startswith("2."):
        raise HyperparameterDataMissing(
            f"{DISTRIBUTION} {dist.version} is installed; the algorithms' hyperparameters are read from 2.x"
        )
    sources = {
        Path(str(f)).name: f.read_text(encoding="utf-8")
        for f in dist.files or []
        if str(f).startswith(f"{SOURCE_DIR}/") and str(f).endswith(".py")
    }
    return dist.version, sources


def wheel_sources(wheel: Path) -> tuple[str, Sources]:
    """The same from a downloaded ``sagemaker-2.<x>-py3-none-any.whl`` (no installation needed)."""
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(f"{SOURCE_DIR}/") and n.endswith(".py")]
        return version, {Path(n).name: archive.read(n).decode("utf-8") for n in names}


def build(sdk_version: str, sources: Sources) -> dict[str, Any]:
    """The hyperparameter table validate and the editors' schema read: plain data."""
    base = read_estimator(sources, *BASE)
    algorithms = {}
    for name, (module, class_name) in sorted(ESTIMATORS.items()):
        estimator = read_estimator(sources, module, class_name)
        if estimator["repo_name"] != name:
            raise UnknownSdkForm(f"{class_name}.repo_name is {estimator['repo_name']!r}, expected {name!r}")
        hyperparameters = {**base["hyperparameters"], **estimator["hyperparameters"]}
        algorithms[name] = {
            "estimator": f"sagemaker.amazon.{module.removesuffix('.py')}.{class_name}",
            "required": [r for r in estimator["required"] if r in hyperparameters],
            "hyperparameters": dict(sorted(hyperparameters.items())),
        }
    return {
        "source": f"{DISTRIBUTION} {sdk_version}: {SOURCE_DIR}/*.py (generated by make schemas)",
        "algorithms": algorithms,
        "not_checked": dict(sorted(NOT_CHECKED.items())),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1) + "\n"


def read_estimator(sources: Sources, module: str, class_name: str) -> dict[str, Any]:
    """The ``hp(...)`` attributes, ``repo_name`` and docstring-required arguments of one SDK class."""
    if module not in sources:
        raise UnknownSdkForm(f"{SOURCE_DIR}/{module} is not in the SDK")
    tree = ast.parse(sources[module])
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    if not found:
        raise UnknownSdkForm(f"{SOURCE_DIR}/{module} has no class {class_name}")
    out: dict[str, Any] = {"repo_name": None, "hyperparameters": {}, "required": []}
    for node in found[0].body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "repo_name" and node.value is not None:
            out["repo_name"] = ast.literal_eval(node.value)
        elif isinstance(node.value if target else None, ast.Call) and _called(node.value) == "hp":
            name, spec = _hyperparameter(node.value)
            out["hyperparameters"][name] = spec
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            out["required"] = _required(node)
    return out


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _hyperparameter(call: ast.Call) -> tuple[str, dict[str, Any]]:
    """``hp("k", (ge(1)), "An integer greater than 0", int)`` -> ("k", {type, minimum, description})."""
    fields = ("name", "validate", "validation_message", "data_type")
    given = dict(zip(fields, call.args, strict=False)) | {k.arg: k.value for k in call.keywords}
    name = ast.literal_eval(given["name"])
    data_type = given.get("data_type")
    type_name = data_type.id if isinstance(data_type, ast.Name) else "str" if data_type is None else ""
    if type_name not in _TYPES:
        raise UnknownSdkForm(f"hyperparameter {name!r} has data type {ast.unparse(data_type)}")
    spec: dict[str, Any] = {"type": _TYPES[type_name]}
    validate = given.get("validate")
    checks = validate.elts if isinstance(validate, ast.Tuple | ast.List) else [validate] if validate else []
    for check in checks:
        if not isinstance(check, ast.Call):
            raise UnknownSdkForm(f"hyperparameter {name!r} has validation {ast.unparse(check)}")
        kind, values = _called(check), [ast.literal_eval(a) for a in check.args]
        if kind in _BOUNDS and len(values) == 1:
            spec[_BOUNDS[kind]] = values[0]
        elif kind == "isin":
            spec["enum"] = values
        elif kind == "_list_check_subset" and len(values) == 1:  # object2vec: "hadamard,abs_diff"
            spec["subset_of"] = values[0]
        else:
            raise UnknownSdkForm(f"hyperparameter {name!r} has validation {ast.unparse(check)}")
    message = given.get("validation_message")
    if message is not None and ast.literal_eval(message):
        spec["description"] = ast.literal_eval(message)
    return name, spec


def _required(init: ast.FunctionDef) -> list[str]:
    """Arguments with no default, and those the docstring calls "Required." (the SDK's own word)."""
    args = init.args.args
    no_default = [a.arg for a in args[1 : len(args) - len(init.args.defaults)]]
    documented = _REQUIRED.findall(ast.get_docstring(init) or "")
    return list(dict.fromkeys([*no_default, *documented]))
