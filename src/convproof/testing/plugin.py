"""What the pytest plugin's ``conv_checker`` fixture offers (the fixture and the ``convproof``
marker are registered by :mod:`convproof.pytest_plugin`, the ``pytest11`` entry point).

    def test_my_conv(conv_checker):
        conv_checker.conv2d(my_conv, stride=2, padding=1)

    @pytest.mark.convproof(dtype="float32", backend="torch", trials=5)
    def test_my_torch_conv(conv_checker):
        conv_checker.conv_transpose2d(my_conv_transpose, stride=2, output_padding=1)

The fixture offers every check of :data:`convproof.testing.CHECKS` by its operation name
(conv1d ... conv3d_backward, max_pool2d, avg_pool2d, ...).  The marker's keyword arguments are
the defaults of every check the fixture runs in that test that takes them (``bias`` for the
convolutions, not for pooling); an option that no check takes is refused.  The closest marker
counts: a test's own over its class's or module's.  A failing check fails the test with the
diagnosis as its message.  pytest loads the plugin through the ``pytest11`` entry point
``convproof.pytest_plugin``; ``pytest -p convproof.pytest_plugin`` names it where plugins are
not loaded automatically.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the checks load on first use, not in every pytest session
    from . import CheckResult


def _options(check: Callable[..., CheckResult]) -> set[str]:
    """The keyword options of a check."""
    return {p.name for p in inspect.signature(check).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


class ConvChecker:
    """The checks of convproof.testing by operation name, with the marker's defaults."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        from . import CHECKS
        known = set().union(*map(_options, CHECKS.values()))
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise TypeError(f"the convproof marker has options that no check takes: "
                            f"{', '.join(unknown)}; the checks take {', '.join(sorted(known))}")
        self.defaults = dict(defaults)

    def __getattr__(self, name: str) -> Callable[..., CheckResult]:
        from . import CHECKS
        if name not in CHECKS:
            raise AttributeError(f"conv_checker has no check {name!r}; its checks are "
                                 f"{', '.join(CHECKS)}")
        check = CHECKS[name]
        taken = _options(check)
        defaults = {key: value for key, value in self.defaults.items() if key in taken}

        def run(fn: Callable[..., Any], **options: Any) -> CheckResult:
            __tracebackhide__ = True
            return check(fn, **(defaults | options))
        run.__name__, run.__doc__ = name, check.__doc__
        return run

    def __dir__(self) -> list[str]:
        from . import CHECKS
        return sorted(CHECKS)
