"""``validate``: check pipeline files in every environment, fast, without importing Airflow.

Each file is read and parsed once, then checked per environment; a problem that only some
environments have says which. Answers come from the content-keyed compile cache when the file,
environment and code are unchanged, and files that need checking are spread over worker processes,
so a folder of a thousand pipelines validates in seconds once cached.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sagemaker_pipelines.cache.compile_cache import CompileCache, load_environment_cached
from sagemaker_pipelines.checker import CheckResult, check_document, parse, read_pipeline
from sagemaker_pipelines.format.environment import Environment, environment_names
from sagemaker_pipelines.paths import dags_dir, display_path, pipelines_dir
from sagemaker_pipelines.problems import PipelineInvalid, Problem
from sagemaker_pipelines.project import dag_id_of, discover, duplicate_dag_ids
from sagemaker_pipelines.toolkit import sync
from sagemaker_pipelines.toolkit.asset_check import published_by, scheduled_by, unpublished
from sagemaker_pipelines.toolkit.dag_building import build_problems
from sagemaker_pipelines.toolkit.reporter import Summary

PARALLEL_MIN = 24  # below this many files to check, worker processes cost more than they save


class UsageError(Exception):
    """A bad command line (unknown file or environment): exit status 2."""


@dataclass
class FileOutcome:
    """One file's DAG id and its problems in each environment."""

    file: str
    dag_id: str
    problems: dict[str, list[Problem]]
    dag_id_at: tuple[int, int] = (1, 1)
    # environment -> (asset URIs its tasks publish, asset URIs it is scheduled on): toolkit/asset_check.py
    assets: dict[str, tuple[list[str], list[str]]] = dataclasses.field(default_factory=dict)


def pipeline_files(arguments: list[str]) -> list[Path]:
    """The files to check: every pipeline when none is given; folders expand to their pipelines."""
    if not arguments:
        return discover()
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files.extend(discover(path))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file: {argument}")
    unique = {p.resolve(): p for p in files}
    return list(unique.values())


def selected_environments(name: str | None) -> list[str]:
    known = environment_names()
    if name is None:
        if not known:
            raise UsageError("no environment files in environments/")
        return known
    if name not in known:
        raise UsageError(f"unknown environment '{name}' (known: {', '.join(known) or 'none'})")
    return [name]


def _read(path: Path) -> str | Problem:
    return read_pipeline(path)  # the loader's reading: the same problems for a binary file, a dangling link


def check_file_everywhere(
    path: Path, environments: list[Environment], cache: CompileCache, text: str | None = None
) -> FileOutcome:
    """Parse once, check in each environment (cached answers first)."""
    text = _read(path) if text is None else text
    if isinstance(text, Problem):
        return FileOutcome(text.file, path.stem, {env.name: [text] for env in environments})
    file = display_path(path)
    results, missing = _cache_hits(text, file, environments, cache)
    if missing:
        doc = parse(text, path)
        for env, key in missing:
            result = doc if isinstance(doc, CheckResult) else check_document(doc, text, path, env)
            cache.put(key, text, result)
            results[env.name] = result
    return _outcome(file, environments, results)


def _cache_hits(
    text: str, file: str, environments: list[Environment], cache: CompileCache
) -> tuple[dict[str, CheckResult], list[tuple[Environment, str]]]:
    """Cached results by environment name, and the (environment, key) pairs still to check."""
    results: dict[str, CheckResult] = {}
    missing = []
    for env in environments:
        key = cache.key(text, file, env)
        hit = cache.get(key)
        if hit is None:
            missing.append((env, key))
        else:
            results[env.name] = hit
    return results, missing


def _outcome(file: str, environments: list[Environment], results: dict[str, CheckResult]) -> FileOutcome:
    first = results[environments[0].name]
    problems = {name: r.problems for name, r in results.items()}
    assets = {name: (sorted(published_by(r)), scheduled_by(r)) for name, r in results.items()}
    return FileOutcome(file, first.dag_id, problems, first.dag_id_at, assets)


def _worker_count(jobs: int | None) -> int:
    if jobs:
        return max(1, jobs)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def check_files(
    paths: list[Path], environments: list[Environment], cache: CompileCache, jobs: int | None = None
) -> list[FileOutcome]:
    """Every file's outcome, in the given order; uncached files are checked in worker processes."""
    workers = min(_worker_count(jobs), 16)
    if workers == 1 or len(paths) < PARALLEL_MIN:
        return [check_file_everywhere(p, environments, cache) for p in paths]
    outcomes: dict[int, FileOutcome] = {}
    if cache.folder is not None:  # answers already cached need no worker
        for index, path in enumerate(paths):
            hit = _cached(path, environments, cache)
            if hit is not None:
                outcomes[index] = hit
    todo = [i for i in range(len(paths)) if i not in outcomes]
    if len(todo) < PARALLEL_MIN:
        outcomes.update({i: check_file_everywhere(paths[i], environments, cache) for i in todo})
        return [outcomes[i] for i in range(len(paths))]
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")  # workers inherit the imported checker
    except ValueError:  # pragma: no cover - no fork on this platform
        context = None
    check = partial(check_file_everywhere, environments=environments, cache=cache)
    chunk = max(1, len(todo) // (workers * 8))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        outcomes.update(zip(todo, pool.map(check, [paths[i] for i in todo], chunksize=chunk), strict=True))
    return [outcomes[i] for i in range(len(paths))]


def _cached(path: Path, environments: list[Environment], cache: CompileCache) -> FileOutcome | None:
    """The file's outcome when every environment's answer is in the cache."""
    text = _read(path)
    if isinstance(text, Problem):
        return None
    file = display_path(path)
    results, missing = _cache_hits(text, file, environments, cache)
    return None if missing else _outcome(file, environments, results)


def merge_environments(outcome: FileOutcome, names: list[str]) -> list[Problem]:
    """One list per file: problems of only some environments name them; identical ones appear once."""
    where: dict[Problem, list[str]] = {}
    for name in names:
        for problem in outcome.problems.get(name, []):
            where.setdefault(problem, []).append(name)
    merged = []
    for problem, found_in in where.items():
        if len(found_in) < len(names):
            problem = dataclasses.replace(
                problem, message=f"{problem.message} [environment: {', '.join(found_in)}]"
            )
        merged.append(problem)
    return merged


def _duplicates(outcomes: list[FileOutcome], given: list[Path]) -> list[Problem]:
    """DAG ids used twice; given files are also compared with the other pipelines (pre-commit passes
    only the changed files) and come last, so the problem is reported on them."""
    chosen = {p.resolve() for p in given}
    others = [p for p in discover() if p.resolve() not in chosen] if given else []
    results = [CheckResult(display_path(p), dag_id_of(p)) for p in others]
    results += [CheckResult(o.file, o.dag_id, dag_id_at=o.dag_id_at) for o in outcomes]
    checked = {o.file for o in outcomes}
    return [p for p in duplicate_dag_ids(results) if p.file in checked]


def _unpublished_assets(
    paths: list[Path],
    outcomes: list[FileOutcome],
    environments: list[Environment],
    cache: CompileCache,
    names: list[str],
) -> list[Problem]:
    """Warnings for assets a checked pipeline is scheduled on that no pipeline of the project publishes;
    when only some files are given (pre-commit), the others' publishers count too."""
    if not any(scheduled for o in outcomes for _, scheduled in o.assets.values()):
        return []
    chosen = {p.resolve() for p in paths}
    others = [p for p in discover() if p.resolve() not in chosen]
    everyone = outcomes + [check_file_everywhere(p, environments, cache) for p in others]
    warnings = []
    for path, outcome in zip(paths, outcomes, strict=True):
        found = {}
        for name, (_, scheduled) in outcome.assets.items():
            published = {uri for o in everyone for uri in o.assets.get(name, ([], []))[0]}
            found[name] = unpublished(path, outcome.file, scheduled, published)
        warnings.extend(merge_environments(FileOutcome(outcome.file, outcome.dag_id, found), names))
    return warnings


def _errors(outcome: FileOutcome) -> bool:
    return any(p.is_error for found in outcome.problems.values() for p in found)


def _dag_file_problems(paths: list[Path], whole_project: bool) -> list[Problem]:
    """Missing, stale or orphaned DAG files of the project's pipelines. Files outside the pipelines folder
    have none, and neither does a pipelines folder without a DAG folder (a scratch folder checked in CI)."""
    if not dags_dir().is_dir():
        return []
    if whole_project:
        return sync.problems_of(sync.plan())
    inside = [p for p in paths if p.resolve().is_relative_to(pipelines_dir())]
    return sync.problems_of(sync.plan(inside)) if inside else []


def validate(
    arguments: list[str],
    environment: str | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    build: bool = False,
) -> Summary:
    """Check the given files (default: all pipelines) in the chosen environments (default: all); with
    ``build``, Airflow then builds the DAG of each file valid everywhere (toolkit/dag_building.py)."""
    names = selected_environments(environment)
    paths = pipeline_files(arguments)
    problems: list[Problem] = []
    environments = []
    cache = CompileCache.default() if use_cache else CompileCache(None)
    for name in names:
        try:  # through the cache, as the loader reads it: validate at image build warms both (deploy.md)
            environments.append(load_environment_cached(name, cache))
        except PipelineInvalid as exc:
            problems.extend(exc.problems)
    if environments:
        outcomes = check_files(paths, environments, cache, jobs)
        checked = [env.name for env in environments]
        for outcome in outcomes:
            problems.extend(merge_environments(outcome, checked))
        problems.extend(_duplicates(outcomes, paths if arguments else []))
        problems.extend(_unpublished_assets(paths, outcomes, environments, cache, checked))
        if build:
            valid = [(p, o.dag_id) for p, o in zip(paths, outcomes, strict=True) if not _errors(o)]
            problems.extend(build_problems(valid, checked, use_cache))
    problems.extend(_dag_file_problems(paths, whole_project=not arguments))
    return Summary(files=len(paths), environments=names, problems=sorted(set(problems)))
