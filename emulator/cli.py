"""``shelly-emu``: run emulated Shelly Gen1 devices from the command line.

shelly-emu run SHSW-1 --ip 127.0.1.5            one device
shelly-emu demo                                  one device of every model, 127.0.1.1, .2, ...,
                                                 and the dashboard at 127.0.0.1:8080/_emu/
shelly-emu fleet FILE                            a fleet file (emulator/fleet/spec.py)
shelly-emu fleet --model SHSW-1 --count 1000     1000 devices from 127.20.0.1, one loop
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence

from fake_cloud import CloudConfig, FakeCloud
from fake_cloud.cli import main as cloud_main

from .conformance import capture_main
from .conformance import main as conformance_main
from .core.identity import derive_mac
from .fleet import cli as fleet_cli
from .fleet.control import serve
from .fleet.fleet import Fleet
from .fleet.life import firmware_offer, parse_addon_option
from .fleet.spec import COIOT_SOCKETS, DeviceSpec, FleetSpec
from .harness.mqtt_demo import start_demo_mqtt
from .runtime import DeviceHost, Runtime
from .runtime.loops import LOOP_ENV, LOOPS
from .runtime.override import load_capture
from .runtime.profiles import ProfileError, all_profiles
from .transports.cloud_wiring import link_to_cloud, register_device
from .transports.coiot.udp import CoiotTransport
from .transports.http.limits import DEFAULT_LIMITS, HttpLimits, parse_limit_options
from .transports.mdns import MdnsAnnouncer
from .transports.net import loopback_plan, require_local_address

__all__ = ["main"]


def _login(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _local_address(value: str) -> str:
    try:
        return require_local_address(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    run.add_argument("model", nargs="?", help=f"model code or profile name: {_models_help()}")
    run.add_argument(
        "--from",
        dest="from_dir",
        metavar="DIR",
        help="emulate the device captured in DIR by `shelly-emu capture` (model, fw, MAC, shape)",
    )
    run.add_argument(
        "--ip",
        type=_local_address,
        default="127.0.1.1",
        help="address to serve on: any address this host owns — loopback (127.x.y.z), a LAN "
        "alias, a macvlan, a veth in a namespace (127.0.1.1); multicast CoIoT and mDNS leave by "
        "the interface that holds it (docs/lan.md)",
    )
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
    run.add_argument(
        "--addon",
        metavar="SENSORS",
        help="Shelly 1 add-on sensors: ds18b20[:1..3] or dht22 (world API sets their readings)",
    )
    run.add_argument(
        "--offer-firmware",
        metavar="FW",
        help="the update server offers this stable build (/status update pending; /ota installs)",
    )

    demo = commands.add_parser("demo", help="one device of every model, until Ctrl-C")
    demo.add_argument("--first-ip", default="127.0.1.1", help="address of the first device")
    demo.add_argument("--state-dir", help="directory where settings persist across restarts")
    demo.add_argument(
        "--cloud-ip", default="127.0.2.1", help="first address of the fake cloud (127.0.2.1)"
    )
    demo.add_argument("--no-cloud", action="store_true", help="no fake cloud")
    demo.add_argument(
        "--control",
        default="127.0.0.1:8080",
        help="ADDRESS:PORT of the control API and its dashboard, /_emu/ (127.0.0.1:8080)",
    )
    for name, text in (
        ("conformance", "check a device (real or emulated) against its profile's schemas"),
        ("capture", "save a device's answers as a profile override for run --from"),
    ):
        commands.add_parser(
            name, help=f"{text} (options: shelly-emu {name} --help)", add_help=False
        )
    commands.add_parser(
        "cloud",
        help="run the fake Shelly Cloud alone (options: shelly-emu cloud --help)",
        add_help=False,
    )
    fleet = fleet_cli.add_parser(commands, _login, _models_help())
    for command in (run, demo, fleet):
        command.add_argument("--no-coiot", action="store_true", help="no CoIoT (UDP 5683)")
        command.add_argument(
            "--coiot-socket",
            choices=COIOT_SOCKETS,
            help="per-device (default): a UDP socket per device on <ip>:5683, so a client on "
            "this host can bind 0.0.0.0:5683 too; shared: one socket on 0.0.0.0:5683 for every "
            "device (one descriptor in all; it owns the port). A fleet file's coiot_socket "
            "applies unless this is given",
        )
        command.add_argument("--no-mdns", action="store_true", help="no mDNS announcements")
        command.add_argument(
            "--loop",
            choices=LOOPS,
            help=f"event loop (default: ${LOOP_ENV}, else asyncio); uvloop: faster, if installed",
        )
        command.add_argument(
            "--limit",
            action="append",
            metavar="NAME=VALUE",
            help="an HTTP limit, repeatable (a fleet file's limits: apply first): max_line, "
            "max_head, max_body (bytes), header_timeout, body_timeout, keep_alive_timeout "
            "(seconds), connection_budget (per process; 0: from the descriptor limit), "
            "max_connections (per device, as a real ESP8266's handful; 0: none)",
        )
        command.add_argument(
            "--interface",
            type=_local_address,
            help="override: send and receive every device's multicast CoIoT and mDNS on the "
            "interface holding this address (default: each device's own interface)",
        )
    return parser


def _start(
    args: argparse.Namespace, state_dir: str | None = None, limits: HttpLimits | None = None
) -> Runtime:
    """A runtime with the transports the options ask for (they serve devices added later)."""
    limits = parse_limit_options(args.limit or [], limits or DEFAULT_LIMITS)
    runtime = Runtime(state_dir=state_dir or args.state_dir, limits=limits, loop=args.loop)
    runtime.start()
    if not args.no_coiot:
        CoiotTransport.attach(
            runtime, interface=args.interface, shared_socket=args.coiot_socket == "shared"
        )
    if not args.no_mdns:
        MdnsAnnouncer.attach(
            runtime, interfaces=None if args.interface is None else [args.interface]
        )
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


#: Set by Ctrl-C or SIGTERM. The handlers are installed before anything starts, so a signal
#: that arrives right after the ready line (a script, a test) still stops cleanly.
_STOP = threading.Event()


def _catch_interrupts() -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (main() run from a test's thread)
    signal.signal(signal.SIGINT, lambda *_: _STOP.set())
    signal.signal(signal.SIGTERM, lambda *_: _STOP.set())


def _wait_for_interrupt() -> None:
    _STOP.wait()


def _run(args: argparse.Namespace) -> int:
    captured = load_capture(args.from_dir) if args.from_dir else None
    if captured is None and not args.model:
        raise ValueError("run needs MODEL or --from DIR")
    runtime = _start(args)
    try:
        host = runtime.add_device(
            captured.profile if captured else args.model,
            ip=args.ip,
            http_port=_default_port() if args.http_port is None else args.http_port,
            mac=args.mac or (captured.mac if captured else None),
            seed=args.seed,
            fw=args.fw,
            longid=True if args.longid else (captured.longid if captured else None),
            login=args.login,
            restore=captured.restore if captured else None,
        )
        _life_options(args, host)
        _setup_mode(host)
        print(_table([host]), flush=True)
        print("Ctrl-C stops.", flush=True)
        _wait_for_interrupt()
    finally:
        runtime.stop()
    return 0


def _life_options(args: argparse.Namespace, host: DeviceHost) -> None:
    """``--addon`` and ``--offer-firmware``: checked like their fleet-file keys (fleet/life.py)."""
    if args.addon:
        host.world.plug_addon(*parse_addon_option(args.addon, host.device.profile))
    if args.offer_firmware:
        offer = firmware_offer({"stable": args.offer_firmware}, "--offer-firmware")
        host.world.offer_firmware(offer["stable"])


def _demo_spec(first_ip: str, http_port: int) -> FleetSpec:
    """One device of every model on consecutive addresses; the MACs a lone ``run`` would derive
    (model@ip:port), so a state directory of an earlier demo still fits."""
    profiles = list(all_profiles().values())
    ips = loopback_plan(first_ip, len(profiles))
    return FleetSpec(
        tuple(
            DeviceSpec(
                profile.model,
                ip,
                http_port,
                5683,
                derive_mac(profile.mac_prefix, f"{profile.model}@{ip}:{http_port}"),
            )
            for profile, ip in zip(profiles, ips, strict=True)
        ),
        source="demo",
    )


def _demo(args: argparse.Namespace) -> int:
    runtime = _start(args)
    stack = contextlib.ExitStack()
    control = None
    try:
        fleet = Fleet(_demo_spec(args.first_ip, _default_port()), runtime).start()
        control = fleet.control
        base = serve(control, *fleet_cli.endpoint(args.control))
        print(f"dashboard {base}/_emu/", flush=True)
        hosts = [_setup_mode(member.host) for member in fleet]
        print(_table(hosts), flush=True)
        broker, note = start_demo_mqtt(runtime, hosts[0])
        stack.callback(broker.close)
        print(note, flush=True)
        if args.no_cloud:
            print("Ctrl-C stops.", flush=True)
            _wait_for_interrupt()
            return 0
        with FakeCloud(CloudConfig(ip=args.cloud_ip)) as cloud:
            print(_link_demo_cloud(runtime, cloud, hosts), flush=True)
            print("Ctrl-C stops.", flush=True)
            _wait_for_interrupt()
    finally:
        if control is not None:
            control.close()
        runtime.stop()
        stack.close()
    return 0


#: Credentials of the demo's cloud account and integrator, printed at start.
DEMO_USER = ("demo@shelly-emu.test", "demo")
DEMO_INTEGRATOR = ("ITG_DEMO", "demo-secret")


def _link_demo_cloud(runtime: Runtime, cloud: FakeCloud, hosts: Sequence[DeviceHost]) -> str:
    """Give every demo device to one cloud account and link it; describe where things are."""
    user = cloud.control.create_user(*DEMO_USER, cloud.server_names[0])
    cloud.control.create_integrator(*DEMO_INTEGRATOR)
    link_to_cloud(runtime, cloud)
    for host in hosts:
        register_device(cloud, host, user.id)
    server = cloud.endpoints[cloud.server_names[0]]
    return "\n".join(
        [
            "",
            "fake Shelly Cloud (every device above is linked to the demo account)",
            f"  api     {cloud.api_url}   POST /integrator/get_access_token, /oauth/login",
            f"  my      {cloud.my_url}   /integrator.html?itg=&cb=, /oauth_login.html",
            *(
                f"  server  {e.rest_url}  {e.ws_base}/shelly/wss/hk_sock?t=<JWT>"
                for e in cloud.endpoints.values()
                if e.ws_port
            ),
            f"  account {DEMO_USER[0]} / {DEMO_USER[1]} (user {user.id}, on {server.name})",
            f"  integrator itg={DEMO_INTEGRATOR[0]} token={DEMO_INTEGRATOR[1]}",
            f"  CA      {cloud.ca_path}",
            f"  control {cloud.api_url}/_fake/   (page; JSON at /_fake/state)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["cloud"]:
        return cloud_main(argv[1:])
    if argv[:1] == ["conformance"]:
        return conformance_main(argv[1:])
    if argv[:1] == ["capture"]:
        return capture_main(argv[1:])
    args = build_parser().parse_args(argv)
    _catch_interrupts()
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "fleet":
            return fleet_cli.run(args, _start, _wait_for_interrupt, _default_port())
        return _demo(args)
    except (ProfileError, ValueError, OSError) as error:
        print(f"shelly-emu: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
