"""Bookkeeping around a conformance run: undo actions and the result table.

The table lists every check with PASS, FAIL or SKIP and, for the latter two, the first line of
the reason, so a user reads what is wrong without scrolling through tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Restorer", "Row", "render_table"]

logger = logging.getLogger(__name__)


class Restorer:
    """Undo actions of a mutating run, run in reverse order.

    Each change is undone as soon as its check ends (``undoing``), whatever the outcome; what is
    left when the session ends (a Ctrl-C inside an undo) is undone by ``run_all``.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, Callable[[], None]]] = []
        self.errors: list[str] = []

    @contextmanager
    def undoing(self, what: str, undo: Callable[[], None]) -> Iterator[None]:
        """Run the block, then ``undo`` (also on failure or KeyboardInterrupt)."""
        entry = (what, undo)
        self._pending.append(entry)
        try:
            yield
        finally:
            if entry in self._pending:  # else run_all already undid it
                self._pending.remove(entry)
                self._run(what, undo)

    def _run(self, what: str, undo: Callable[[], None]) -> None:
        try:
            undo()
        except Exception as exc:  # an undo that fails must not stop the others
            self.errors.append(f"could not restore {what}: {exc}")
            logger.warning("could not restore %s: %s", what, exc)

    def run_all(self) -> None:
        """Undo everything still pending, newest first."""
        while self._pending:
            self._run(*self._pending.pop())


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the result table."""

    check: str
    outcome: str
    detail: str = ""


def render_table(rows: list[Row], header: str) -> list[str]:
    """Rows aligned in columns, with a header line and a totals line."""
    width = max([len(r.check) for r in rows] + [5])
    lines = [header, f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
    for row in rows:
        lines.append(f"{row.check:<{width}}  {row.outcome:<6}  {row.detail}".rstrip())
    counts = {o: sum(r.outcome == o for r in rows) for o in ("PASS", "FAIL", "SKIP")}
    lines.append(", ".join(f"{n} {o.lower()}" for o, n in counts.items()))
    return lines
