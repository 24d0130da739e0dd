"""Command line of the fake cloud: `main(argv)`, wired by the project as `shelly-emu cloud`.

Prints where everything is (front ends, servers, CA, SCL-Trust public key, demo credentials)
and serves until interrupted.
"""

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from fake_cloud.server import FakeCloud
from fake_cloud.state.config import CloudConfig

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shelly-emu cloud", description="Run a fake Shelly Cloud.")
    p.add_argument("--ip", default="127.10.0.1", help="first address: api, then my, then servers")
    p.add_argument("--servers", default="shelly-13-eu,shelly-14-eu", help="comma-separated names")
    p.add_argument("--plain", action="store_true", help="http:// and ws:// instead of TLS")
    p.add_argument("--port", type=int, default=None, help="REST port (default 443, or 80)")
    p.add_argument("--seed", type=int, default=None, help="seed for ids, tokens and keys")
    p.add_argument("--no-demo", action="store_true", help="start empty (no demo users/devices)")
    p.add_argument("--ca-out", type=Path, default=None, help="also copy the CA PEM here")
    p.add_argument("--rate-limit", type=float, default=None, help="shelly-diy requests/s")
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="set a policy, e.g. --policy second_connection='\"reject\"'",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = CloudConfig(
        ip=args.ip,
        servers=tuple(s for s in args.servers.split(",") if s),
        plain=args.plain,
        rest_port=args.port,
        seed=args.seed,
    )
    config.policies.update(diy_rate_limit=args.rate_limit)
    for item in args.policy:
        name, _, value = item.partition("=")
        config.policies.update(**{name: json.loads(value)})
    cloud = FakeCloud(config).start()
    demo = None if args.no_demo else cloud.control.seed_demo()
    if args.ca_out and cloud.ca_path:
        args.ca_out.write_text(Path(cloud.ca_path).read_text())
    print(f"fake Shelly Cloud (seed {cloud.backend.seed})")
    print(f"  api  {cloud.api_url}   (POST /integrator/get_access_token, /oauth/login)")
    print(f"  my   {cloud.my_url}   (/integrator.html, /oauth_login.html, /user_settings.html)")
    for name in cloud.server_names:
        endpoint = cloud.endpoints[name]
        print(f"  {name}  {endpoint.rest_url}  {endpoint.ws_base}/shelly/wss/hk_sock?t=…")
    print("  control plane: <any of the above>/_fake/ (page), /_fake/state (JSON)")
    if cloud.ca_path:
        print(f"  CA: {args.ca_out or cloud.ca_path}")
    print("  SCL-Trust public key:\n" + cloud.scl_trust_public_key)
    if demo:
        print("  demo:", json.dumps(demo))
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    cloud.stop()
    return 0
