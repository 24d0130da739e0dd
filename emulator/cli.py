"""``shelly-emu``: run emulated Shelly Gen1 devices from the command line.

shelly-emu run SHSW-1 --ip 127.0.1.5            one device
shelly-emu demo                                  one device of every model, 127.0.1.1, .2, ...
shelly-emu fleet FILE                            a fleet file (emulator/fleet_spec.py)
shelly-emu fleet --model SHSW-1 --count 1000     1000 devices from 127.20.0.1, one loop
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from .coiot_udp import CoiotTransport
from .control import serve
from .fleet import Fleet
from .fleet_spec import FleetError, FleetSpec, load_fleet, parse_fleet
from .mdns import MdnsAnnouncer
from .net import loopback_plan
from .profiles import ProfileError, all_profiles, load_profile
from .runtime import DeviceHost, Runtime

__all__ = ["main"]


def _login(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _default_port() -> int:
    """Port 80 as real devices (aioshelly insists on it) when we may bind it, else any free port."""
    return 80 if os.geteuid() == 0 else 0


def _models_help() -> str:
    return ", ".join(f"{p.model} ({p.name})" for p in all_profiles().values())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelly-emu", description="Emulated Shelly Gen1 devices for testing integrations."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one emulated device until Ctrl-C")
    run.add_argument("model", help=f"model code or profile name: {_models_help()}")
    run.add_argument("--ip", default="127.0.1.1", help="loopback address to serve on (127.0.1.1)")
    run.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="HTTP port (default 80 when running as root, else a free port)",
    )
    run.add_argument("--mac", help="MAC address, 12 hex digits (default: derived from --seed)")
    run.add_argument("--seed", help="seed for a stable derived MAC (default: model and address)")
    run.add_argument("--login", type=_login, help="enable HTTP Basic auth with USER:PASSWORD")
    run.add_argument("--state-dir", help="directory where settings persist across restarts")
    run.add_argument("--fw", help="firmware string reported by the device (default: profile's)")
    run.add_argument(
        "--longid", action="store_true", help="identify by the full MAC (shelly1-A4CF12B92CFA)"
    )

    demo = commands.add_parser("demo", help="one device of every model, until Ctrl-C")
    demo.add_argument("--first-ip", default="127.0.1.1", help="address of the first device")
    demo.add_argument("--state-dir", help="directory where settings persist across restarts")

    fleet = commands.add_parser("fleet", help="many devices in one process, until Ctrl-C")
    fleet.add_argument("file", nargs="?", help="fleet file (YAML); or use --model and --count")
    fleet.add_argument("--model", help=f"one model for the whole fleet: {_models_help()}")
    fleet.add_argument("--count", type=int, default=1, help="devices of --model (1)")
    fleet.add_argument(
        "--first-ip", default="127.20.0.1", help="first address, one per device (127.20.0.1)"
    )
    fleet.add_argument("--login", type=_login, help="HTTP Basic auth USER:PASSWORD on every device")
    fleet.add_argument("--seed", help="seed of the derived MACs (default: model and address)")
    fleet.add_argument("--state-dir", help="settings persist here across restarts and kill -9")
    fleet.add_argument(
        "--control",
        default="127.0.0.1:8080",
        help="ADDRESS:PORT of the control API (/_emu/...), 'off' for none (127.0.0.1:8080)",
    )
    for command in (run, demo, fleet):
        command.add_argument("--no-coiot", action="store_true", help="no CoIoT (UDP 5683)")
        command.add_argument("--no-mdns", action="store_true", help="no mDNS announcements")
        command.add_argument(
            "--interface",
            default="127.0.0.1",
            help="address of the interface for multicast CoIoT and mDNS (127.0.0.1)",
        )
    return parser


def _start(args: argparse.Namespace, state_dir: str | None = None) -> Runtime:
    """A runtime with the transports the options ask for (they serve devices added later)."""
    runtime = Runtime(state_dir=state_dir or args.state_dir).start()
    if not args.no_coiot:
        CoiotTransport.attach(runtime, interface=args.interface)
    if not args.no_mdns:
        MdnsAnnouncer.attach(runtime, interfaces=[args.interface])
    return runtime


def _note(host: DeviceHost) -> str:
    if host.while_asleep is None:
        return ""
    setup = host.device.of_kind("sleep")[0].setup_seconds
    return f"battery: awake {setup:.0f} s (setup mode), then asleep between wake-ups"


def _table(hosts: Sequence[DeviceHost]) -> str:
    rows = [("model", "title", "id", "url", "")]
    rows += [
        (h.model, h.device.profile.title, h.device.identity.hostname, h.url, _note(h))
        for h in hosts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _setup_mode(host: DeviceHost) -> DeviceHost:
    """Press a battery device's button, as a user does to configure it: awake for 3 minutes,
    then it sleeps and answers only after wake-ups (seed 003 H&T, Smoke)."""
    if host.while_asleep is not None:
        host.world.press()
    return host


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


def _run(args: argparse.Namespace) -> int:
    runtime = _start(args)
    try:
        host = runtime.add_device(
            args.model,
            ip=args.ip,
            http_port=_default_port() if args.http_port is None else args.http_port,
            mac=args.mac,
            seed=args.seed,
            fw=args.fw,
            longid=True if args.longid else None,
            login=args.login,
        )
        _setup_mode(host)
        print(_table([host]), flush=True)
        print("Ctrl-C stops.", flush=True)
        _wait_for_interrupt()
    finally:
        runtime.stop()
    return 0


def _demo(args: argparse.Namespace) -> int:
    profiles = list(all_profiles().values())
    runtime = _start(args)
    try:
        hosts = [
            _setup_mode(runtime.add_device(profile.model, ip=ip, http_port=_default_port()))
            for profile, ip in zip(
                profiles, loopback_plan(args.first_ip, len(profiles)), strict=True
            )
        ]
        print(_table(hosts), flush=True)
        print("Ctrl-C stops.", flush=True)
        _wait_for_interrupt()
    finally:
        runtime.stop()
    return 0


def _fleet_spec(args: argparse.Namespace) -> FleetSpec:
    if (args.file is None) == (args.model is None):
        raise FleetError("give a fleet FILE or --model (with --count), not both")
    if args.file is not None:
        return load_fleet(args.file)
    group: dict[str, object] = {"model": args.model, "count": args.count, "address": args.first_ip}
    if ":" not in args.first_ip:  # else one address with a port per device
        group["http_port"] = _default_port()
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


def _fleet(args: argparse.Namespace) -> int:
    spec = _fleet_spec(args)
    started = time.perf_counter()
    runtime = _start(args, spec.state_dir)
    try:
        # CoIoT binds one UDP socket per device beside its HTTP listener.
        fleet = Fleet(spec, runtime).start(_progress, per_device=1 if args.no_coiot else 2)
    except BaseException:
        runtime.stop()
        raise
    control = fleet.control
    try:
        # Everything built so far lives as long as the fleet: keep the collector from walking
        # it on every full collection (those pauses were the p99 of GET /status at 10,000).
        gc.freeze()
        address = spec.control or (None if args.control == "off" else _endpoint(args.control))
        where = ""
        if address is not None:
            where = f", control API {serve(control, *address)}/_emu/devices"
        print(_fleet_table(fleet), flush=True)
        elapsed = time.perf_counter() - started
        print(
            f"ready: {len(fleet)} devices in {elapsed:.1f} s, RSS {_rss_mb():.0f} MB{where}. "
            "Ctrl-C stops.",
            flush=True,
        )
        _wait_for_interrupt()
    finally:
        control.close()
        runtime.stop()  # every socket closed, state flushed, mDNS goodbyes sent
    saved = ", state saved" if runtime.store is not None else ""
    print(f"stopped: {len(spec.devices)} devices, sockets closed{saved}.", flush=True)
    return 0


def _endpoint(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise FleetError(f"--control: want ADDRESS:PORT or off, got {value!r}")
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            load_profile(args.model)
            return _run(args)
        if args.command == "fleet":
            return _fleet(args)
        return _demo(args)
    except (ProfileError, ValueError, OSError) as error:
        print(f"shelly-emu: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
