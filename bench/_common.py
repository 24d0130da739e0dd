"""Helpers shared by the bench scripts: result rows, RSS, a random loopback block."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

__all__ = ["emit", "loadgen", "pin_to_cpu", "random_block", "rss_kb"]

#: The server runs on CPU 0 and the load generator on CPU 1 when there are two: the figures
#: are then "one core", and the two do not steal each other's time.
SERVER_CPU, CLIENT_CPU = 0, 1


def pin_to_cpu(cpu: int) -> None:
    """Pin this process (all its threads started later) to one CPU when the machine has it."""
    if cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def emit(bench: str, metric: str, value: float | str, unit: str = "", target: str = "") -> None:
    """One result row on stdout, as JSON (``python -m bench`` gathers them into a table)."""
    row = {"bench": bench, "metric": metric, "value": value, "unit": unit, "target": target}
    print(json.dumps(row), flush=True)


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def random_block() -> str:
    """First address of a random 127.x.0.0/16 block: benches stay clear of tests' addresses."""
    return f"127.{random.SystemRandom().randint(100, 250)}.0.1"


def loadgen(targets: str, *, seconds: float, requests: int, **options: Any) -> dict[str, Any]:
    """Run bench.loadgen in its own process (bounded by ``seconds`` and ``requests``)."""
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--targets",
        targets,
        "--seconds",
        str(seconds),
        "--requests",
        str(requests),
    ]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    output = run_on_client_cpu(command, "loadgen", timeout=seconds + 60)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def run_on_client_cpu(command: list[str], name: str, timeout: float) -> str:
    """A load generator's standard output; it runs pinned to the client CPU (servers get the
    other one), and a failure raises with the end of its error output."""
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=lambda: pin_to_cpu(CLIENT_CPU),
    )
    if done.returncode:
        raise RuntimeError(f"{name} failed: {done.stderr[-500:]}")
    return done.stdout
