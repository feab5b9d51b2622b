"""Shared fixtures: fresh random generators (seed shown on failure), optional PyTorch, GPU skips."""

from __future__ import annotations

import os
import secrets

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=2000)
settings.load_profile(os.environ.get("CONVPROOF_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded afresh for every test; the seed is reported if the test fails."""
    seed = int(os.environ.get("CONVPROOF_SEED", secrets.randbits(63)))
    request.node.user_properties.append(("seed", seed))
    return np.random.default_rng(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seeds = [value for key, value in item.user_properties if key == "seed"]
    if report.failed and seeds:
        report.sections.append(("random seed", f"CONVPROOF_SEED={seeds[0]} reproduces this run"))


@pytest.fixture(scope="session")
def torch():
    """PyTorch on the CPU, one thread (tests make many tiny calls), or a clean skip."""
    module = pytest.importorskip("torch")
    module.set_num_threads(1)
    return module


def _gpu_available() -> str | None:
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as exc:  # CuPy missing, or no driver: both mean "no GPU here"
        return f"CuPy/CUDA unavailable ({type(exc).__name__})"
    return None


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    reason = _gpu_available() if gpu_items else None
    for item in gpu_items if reason else ():
        item.add_marker(pytest.mark.skip(reason=f"GPU test: {reason}"))
