"""Progress of long work (a check, a gradient check): nothing for its first ``QUIET`` seconds,
then at most one line every ``INTERVAL`` seconds, to standard error or to a callable."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Ticker:
    """When a line of progress is due for ``report`` (None: never)."""

    QUIET = 2.0
    INTERVAL = 10.0

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self.report = report
        self.start = time.perf_counter()
        self.last: float | None = None

    def due(self) -> float | None:
        """The seconds since the start when a line is due now (the next is due ``INTERVAL``
        later), else None."""
        now = time.perf_counter()
        elapsed = now - self.start
        if self.report is None or elapsed < self.QUIET or (
                self.last is not None and now - self.last < self.INTERVAL):
            return None
        self.last = now
        return elapsed
