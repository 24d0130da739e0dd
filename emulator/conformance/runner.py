"""``shelly-emu conformance URL``: the command line around the pytest checks.

``main(argv)`` turns the command line into a ``pytest.main`` call on ``checks.py`` with this
package's plugin, so a run from the CLI and ``pytest --shelly-target URL`` are the same run.
The project's own pytest configuration is not read (``-c`` points at an empty file), so the
checks behave the same from any directory.
"""

from __future__ import annotations

import argparse
import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

__all__ = ["PLUGIN", "build_parser", "main", "pytest_args"]

PLUGIN = "emulator.conformance.plugin"
CHECKS = Path(__file__).with_name("checks.py")
# This package is imported before pytest starts, so pytest cannot rewrite its asserts and says
# so; the checks module itself is still rewritten. pytest-asyncio has nothing to do here.
QUIET = ["-W", "ignore::pytest.PytestAssertRewriteWarning", "-p", "no:asyncio"]


def build_parser(prog: str = "shelly-emu conformance") -> argparse.ArgumentParser:
    """The ``conformance`` command's arguments (the lead's CLI may embed it as a subparser)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check a Shelly Gen1 device (real or emulated) against the Gen1 schemas.",
    )
    parser.add_argument("url", help="the device, http://host[:port]")
    parser.add_argument("--profile", metavar="MODEL", help="schema set (default: /shelly type)")
    parser.add_argument("--login", metavar="USER:PASS", help="HTTP credentials (auth on)")
    parser.add_argument(
        "--mutating",
        action="store_true",
        help="also switch outputs and change settings; everything is restored afterwards",
    )
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        nargs="?",
        const="0.0.0.0:5683",
        help="check CoIoT publishes received here (default 0.0.0.0:5683 + 224.0.1.187)",
    )
    parser.add_argument("--listen-timeout", type=float, default=40.0, metavar="S")
    parser.add_argument("--coap-port", type=int, default=5683, metavar="N")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="per request")
    parser.add_argument("--no-mdns", action="store_true", help="skip the mDNS presence check")
    parser.add_argument("-v", "--verbose", action="store_true", help="pytest's verbose output")
    return parser


def _plugin_preloaded() -> bool:
    """Whether a pytest11 entry point already loads the plugin (then ``-p`` would clash)."""
    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))


def pytest_args(ns: argparse.Namespace) -> list[str]:
    """The ``pytest.main`` arguments for a parsed command line."""
    args = [str(CHECKS), "-c", os.devnull, "--rootdir", str(CHECKS.parent)]
    args += ["-p", "no:cacheprovider", *QUIET, "-v" if ns.verbose else "-q", "--tb=short"]
    if not _plugin_preloaded():
        args += ["-p", PLUGIN]
    args += ["--shelly-target", ns.url, "--shelly-timeout", str(ns.timeout)]
    args += ["--shelly-coap-port", str(ns.coap_port)]
    args += ["--shelly-listen-timeout", str(ns.listen_timeout)]
    if ns.profile:
        args += ["--shelly-profile", ns.profile]
    if ns.login:
        args += ["--shelly-login", ns.login]
    if ns.mutating:
        args.append("--shelly-mutating")
    if ns.listen:
        args += [f"--shelly-listen={ns.listen}"]
    if ns.no_mdns:
        args.append("--shelly-no-mdns")
    if ns.junit:
        args += [f"--junitxml={ns.junit}", "-o", "junit_suite_name=shelly-conformance"]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the checks; 0 when all pass or are skipped, 1 on a failure, >1 on a usage error."""
    ns = build_parser().parse_args(argv)
    return int(pytest.main(pytest_args(ns)))
