"""``make bench``: run every bench script in bench/ and print one table of their figures.

A script is any module here but this one, ``loadgen`` and private helpers; each prints JSON
rows (``bench._common.emit``). Scripts other engineers add (CoIoT, cloud latency) are run the
same way; lines that are not rows are printed as they are. Every script has a time limit.
``python -m bench NAME...`` runs only the named scripts (``python -m bench peer``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

_SKIP = {"__main__", "__init__", "loadgen", "soak"}  # soak has its own target: make soak
_TIME_LIMIT = 900


def _scripts() -> list[str]:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))
    return [name for name in names if name not in _SKIP]


def main() -> int:
    rows: list[dict[str, object]] = []
    failed = []
    chosen = sys.argv[1:]  # python -m bench peer coiot: only these
    unknown = set(chosen) - set(_scripts())
    if unknown:
        print(f"no such bench: {', '.join(sorted(unknown))} (one of {', '.join(_scripts())})")
        return 2
    for name in chosen or _scripts():
        started = time.perf_counter()
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        try:
            done = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"],
                capture_output=True,
                text=True,
                timeout=_TIME_LIMIT,
            )
        except subprocess.TimeoutExpired:
            failed.append(f"{name}: over {_TIME_LIMIT} s")
            continue
        for line in done.stdout.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                print(f"[{name}] {line}")
        if done.returncode:
            failed.append(f"{name}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    _table(rows)
    for failure in failed:
        print(f"FAILED {failure}")
    return 1 if failed else 0


def _table(rows: list[dict[str, object]]) -> None:
    header = ("bench", "metric", "value", "unit", "target")
    cells = [header] + [tuple(str(row.get(key, "")) for key in header) for row in rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(header))]
    for i, cell in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if j == 2 else c.ljust(w)
                for j, (c, w) in enumerate(zip(cell, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
