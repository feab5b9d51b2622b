"""pytest entry point of convproof (``pytest11``: ``convproof.pytest_plugin``): the
``conv_checker`` fixture and the ``convproof`` marker.

    def test_my_conv(conv_checker):
        conv_checker.conv2d(my_conv, stride=2, padding=1)

This module stays light: convproof.testing (and SymPy) load only when a test uses the fixture,
so installing convproof costs other test suites nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing.plugin import ConvChecker

MARKER = ("convproof(**options): default keyword options (dtype, trials, seed, backend, ...) "
          "of the conv_checker checks in this test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


@pytest.fixture
def conv_checker(request: pytest.FixtureRequest) -> ConvChecker:
    """Checks of convolution and pooling implementations: ``conv_checker.conv2d(fn, ...)``."""
    marker = request.node.get_closest_marker("convproof")
    if marker is not None and marker.args:
        raise TypeError(f"the convproof marker takes keyword options only, got {marker.args!r}")
    from .testing.plugin import ConvChecker
    return ConvChecker(marker.kwargs if marker is not None else {})
