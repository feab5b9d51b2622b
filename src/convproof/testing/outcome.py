"""What a check returns or raises: a small result when the implementation agrees, an
:class:`EquivalenceError` with the diagnosis when it does not."""

from __future__ import annotations

from dataclasses import dataclass


class EquivalenceError(AssertionError):
    """An implementation differs from the derived operation; the message names the fault."""

    __module__ = "convproof.testing"  # where users import it from, as tracebacks show it


@dataclass(frozen=True)
class CheckResult:
    """A passed check: how many calls agreed, and within which relative tolerance.

    ``worst_error`` is the largest max|got - expected| / max(1, max|expected|) over the calls.
    """

    operation: str
    calls: int
    worst_error: float
    tolerance: float
    seed: int

    def __str__(self) -> str:
        return (f"{self.operation}: {self.calls} calls agree "
                f"(worst relative error {self.worst_error:.1e}, tolerance {self.tolerance:.0e}; "
                f"seed={self.seed})")
