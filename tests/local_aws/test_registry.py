"""The emulator has one registration mechanism: every module of ``local/aws/jobs/`` is loaded and registers
its moto patches or its routes (DataZone's included), so a new emulated API cannot be left out."""

from __future__ import annotations

from sagemaker_pipelines.local.aws import jobs, registry


def test_every_job_module_is_loaded_and_registers_something():
    jobs.load_all()
    assert set(jobs.module_names()) == registry.REGISTRY.modules()


def test_datazone_is_a_route_of_the_registry_like_any_other_module():
    jobs.load_all()
    routes = {route.service: route.module for route in registry.REGISTRY.routes}
    assert routes == {"datazone": "sagemaker_pipelines.local.aws.jobs.datazone"}


def test_the_stop_handlers_are_the_job_specs_stop_operations():
    """The Stop* APIs the emulator adds are named by the job kinds' specs (compile/kinds), not typed again."""
    from botocore import xform_name

    from sagemaker_pipelines.compile.kinds import KINDS

    jobs.load_all()
    stops = {xform_name(kind.job.stop) for kind in KINDS.values() if kind.job}
    patched = {patch.method for patch in registry.REGISTRY.patches if patch.target == registry.RESPONSE}
    assert stops <= patched
