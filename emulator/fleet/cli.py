"""``shelly-emu fleet``: a fleet file (or ``--model --count``) in one process, on one loop.

Shows a progress bar while starting, then the summary table and a ready line; serves the control
API; Ctrl-C (or SIGTERM) closes every socket, flushes the state directory and sends the mDNS
goodbyes (the runtime's stop).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable

from ..runtime import Runtime
from ..transports.http.limits import HttpLimits
from .control import serve
from .fleet import Fleet
from .spec import FleetError, FleetSpec, load_fleet, parse_fleet

__all__ = ["add_parser", "endpoint", "run"]


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    login: Callable[[str], tuple[str, str]],
    models_help: str,
) -> argparse.ArgumentParser:
    fleet = commands.add_parser("fleet", help="many devices in one process, until Ctrl-C")
    fleet.add_argument("file", nargs="?", help="fleet file (YAML); or use --model and --count")
    fleet.add_argument("--model", help=f"one model for the whole fleet: {models_help}")
    fleet.add_argument("--count", type=int, default=1, help="devices of --model (1)")
    fleet.add_argument(
        "--first-ip", default="127.20.0.1", help="first address, one per device (127.20.0.1)"
    )
    fleet.add_argument("--login", type=login, help="HTTP Basic auth USER:PASSWORD on every device")
    fleet.add_argument("--seed", help="seed of the derived MACs (default: model and address)")
    fleet.add_argument("--state-dir", help="settings persist here across restarts and kill -9")
    fleet.add_argument(
        "--control",
        default="127.0.0.1:8080",
        help="ADDRESS:PORT of the control API (/_emu/...), 'off' for none (127.0.0.1:8080)",
    )
    return fleet


def _fleet_spec(args: argparse.Namespace, default_port: int) -> FleetSpec:
    if (args.file is None) == (args.model is None):
        raise FleetError("give a fleet FILE or --model (with --count), not both")
    if args.file is not None:
        return load_fleet(args.file)
    group: dict[str, object] = {"model": args.model, "count": args.count, "address": args.first_ip}
    if ":" not in args.first_ip:  # else one address with a port per device
        group["http_port"] = default_port
    if args.login:
        group["login"] = ":".join(args.login)
    if args.seed:
        group["seed"] = args.seed
    return parse_fleet({"devices": [group]}, "--model")


def _progress(done: int, total: int) -> None:
    """A one-line progress bar on a terminal; silent in logs and CI."""
    if not sys.stderr.isatty() or (done % 100 and done != total):
        return
    filled = 30 * done // total
    sys.stderr.write(f"\rstarting [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _fleet_table(fleet: Fleet) -> str:
    """One row per group of consecutive devices of a model: count and address range."""
    rows = [("model", "count", "first", "last", "login", "cloud")]
    members = list(fleet)
    start = 0
    for i in range(1, len(members) + 1):
        if i < len(members) and members[i].spec.model == members[start].spec.model:
            continue
        first, last = members[start], members[i - 1]
        rows.append(
            (
                first.spec.model,
                str(i - start),
                first.host.url,
                last.host.url,
                first.spec.login[0] if first.spec.login else "-",
                first.spec.cloud.server if first.spec.cloud else "-",
            )
        )
        start = i
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(
    args: argparse.Namespace,
    start: Callable[[argparse.Namespace, str | None, HttpLimits | None], Runtime],
    wait: Callable[[], None],
    default_port: int,
) -> int:
    """Run the fleet until ``wait`` returns; ``start`` gives a runtime with the transports."""
    spec = _fleet_spec(args, default_port)
    if args.coiot_socket is None:  # the command line wins over the fleet file
        args.coiot_socket = spec.coiot_socket
    started = time.perf_counter()
    runtime = start(args, spec.state_dir, spec.limits)
    try:
        # CoIoT per device binds one UDP socket per device beside its HTTP listener; the shared
        # socket is one for the whole fleet.
        coiot_sockets = 0 if args.no_coiot or args.coiot_socket == "shared" else 1
        fleet = Fleet(spec, runtime).start(_progress, per_device=1 + coiot_sockets)
    except BaseException:
        runtime.stop()
        raise
    control = fleet.control
    try:
        # Everything built so far lives as long as the fleet: keep the collector from walking
        # it on every full collection (those pauses were the p99 of GET /status at 10,000).
        gc.freeze()
        address = (
            None
            if spec.control_off
            else spec.control or (None if args.control == "off" else endpoint(args.control))
        )
        where = ""
        if address is not None:
            where = f", control API {serve(control, *address)}/_emu/devices"
        print(_fleet_table(fleet), flush=True)
        elapsed = time.perf_counter() - started
        budget = runtime.call(lambda: runtime.connections.budget)
        print(
            f"ready: {len(fleet)} devices in {elapsed:.2f} s, RSS {_rss_mb():.0f} MB, "
            f"{budget} HTTP connections at most{where}. Ctrl-C stops.",
            flush=True,
        )
        wait()
    finally:
        control.close()
        runtime.stop()  # every socket closed, state flushed, mDNS goodbyes sent
    saved = ", state saved" if runtime.store is not None else ""
    print(f"stopped: {len(spec.devices)} devices, sockets closed{saved}.", flush=True)
    return 0


def endpoint(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise FleetError(f"--control: want ADDRESS:PORT or off, got {value!r}")
    return host, int(port)
