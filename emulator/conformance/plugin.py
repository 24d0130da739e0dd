"""pytest plugin of the Gen1 conformance tester: options, fixtures, parametrisation, result table.

``pytest --shelly-target http://192.168.1.50`` (with this plugin loaded) runs the checks in
``checks.py`` against that device; ``emulator.conformance.main`` does the same from the
``shelly-emu conformance`` command line. Options:

``--shelly-target URL``        the device (required to run anything)
``--shelly-profile MODEL``     schema set to use instead of /shelly's ``type``
``--shelly-login USER:PASS``   credentials when the device has HTTP auth on
``--shelly-mutating``          also toggle outputs and change then restore settings
``--shelly-listen [HOST:PORT]``  receive CoIoT publishes (default 0.0.0.0:5683 + multicast group)
``--shelly-listen-timeout S``  longest wait for one publish (default 40)
``--shelly-coap-port N``       the device's CoAP port (default 5683)
``--shelly-timeout S``         per HTTP request (default 5; one retry)
``--shelly-no-mdns``           skip the mDNS presence check
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .coap import Listener
from .facts import Device, Options, probe
from .report import Restorer, Row, render_table
from .target import DeviceAsleep, DeviceUnreachable, Target, local_address_towards

CHECKS = Path(__file__).with_name("checks.py")
_TARGET = pytest.StashKey[Target]()
_PROBE = pytest.StashKey["Device | str"]()
_RESTORER = pytest.StashKey[Restorer]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # --shelly-target and --shelly-login are registered by emulator.harness.pytest_plugin (entry
    # point shelly_emu, always installed beside this one): its fixtures read them too.
    group = parser.getgroup("shelly-conformance", "Shelly Gen1 conformance")
    group.addoption("--shelly-profile", metavar="MODEL", help="schema set (default: /shelly type)")
    group.addoption(
        "--shelly-mutating",
        action="store_true",
        help="toggle outputs and change settings (restored afterwards)",
    )
    group.addoption(
        "--shelly-listen",
        metavar="HOST:PORT",
        nargs="?",
        const="0.0.0.0:5683",
        help="receive CoIoT publishes here (default 0.0.0.0:5683 with the multicast group)",
    )
    group.addoption("--shelly-listen-timeout", type=float, default=40.0, metavar="S")
    group.addoption("--shelly-coap-port", type=int, default=5683, metavar="N")
    group.addoption("--shelly-timeout", type=float, default=5.0, metavar="S")
    group.addoption("--shelly-no-mdns", action="store_true", help="skip the mDNS check")


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "0.0.0.0", int(port)


def options_of(config: pytest.Config) -> Options:
    """The parsed ``--shelly-*`` options."""
    login = config.getoption("shelly_login")
    listen = config.getoption("shelly_listen")
    return Options(
        url=config.getoption("shelly_target"),
        profile=config.getoption("shelly_profile"),
        login=tuple(login.split(":", 1)) if login else None,  # type: ignore[arg-type]
        mutating=config.getoption("shelly_mutating"),
        listen=_address(listen) if listen else None,
        listen_timeout=config.getoption("shelly_listen_timeout"),
        coap_port=config.getoption("shelly_coap_port"),
        timeout=config.getoption("shelly_timeout"),
        mdns=not config.getoption("shelly_no_mdns"),
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("shelly_target", None):
        return
    checks = str(CHECKS)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [checks]  # `pytest --shelly-target URL` alone: run the checks only
    elif checks not in config.args:
        config.args.append(checks)
    opts = options_of(config)
    config.stash[_TARGET] = Target(opts.url, opts.login, opts.timeout)
    config.stash[_RESTORER] = Restorer()
    config.pluginmanager.register(_Reporter(config), "shelly-conformance-reporter")
    # Only now: emulator.harness.pytest_plugin has fixtures of the same names for emulated devices
    # (shelly_device is a factory there); registered later, these win in this session only.
    config.pluginmanager.register(_Fixtures(), "shelly-conformance-fixtures")


def _device_or_reason(config: pytest.Config) -> Device | str:
    """The probed device, probed once; a string says why there is none."""
    if _PROBE not in config.stash:
        target = config.stash[_TARGET]
        try:
            config.stash[_PROBE] = probe(target, options_of(config).profile)
        except DeviceAsleep as exc:
            config.stash[_PROBE] = f"asleep: {exc}"
        except (DeviceUnreachable, LookupError) as exc:
            config.stash[_PROBE] = f"unusable: {exc}"
    return config.stash[_PROBE]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if _TARGET not in metafunc.config.stash:
        return
    device = _device_or_reason(metafunc.config)
    for name in ("endpoint_case", "bad_request", "output"):
        if name not in metafunc.fixturenames:
            continue
        cases: list[Any] = []
        if isinstance(device, Device):
            cases = {
                "endpoint_case": device.endpoint_cases,
                "bad_request": device.bad_requests,
                "output": device.outputs,
            }[name]()
        if not cases:  # one placeholder, so the table shows why nothing ran
            metafunc.parametrize(name, [None], ids=["-"])
        else:
            metafunc.parametrize(name, cases, ids=[c.id for c in cases])


class _Fixtures:
    """The fixtures of checks.py, registered by pytest_configure when a target was given."""

    @pytest.fixture(scope="session")
    def shelly_options(self, pytestconfig: pytest.Config) -> Options:
        """The ``--shelly-*`` options."""
        return options_of(pytestconfig)

    @pytest.fixture(scope="session")
    def shelly_target(self, pytestconfig: pytest.Config) -> Target:
        """HTTP access to the device; fails the check when no --shelly-target was given."""
        if _TARGET not in pytestconfig.stash:
            pytest.fail("no --shelly-target URL given")
        return pytestconfig.stash[_TARGET]

    @pytest.fixture(scope="session")
    def shelly_device(self, pytestconfig: pytest.Config, shelly_target: Target) -> Device:
        """The probed device; skips every check when it sleeps, fails them when unusable."""
        device = _device_or_reason(pytestconfig)
        if isinstance(device, str):
            if device.startswith("asleep"):
                pytest.skip(f"device {device} (a sleeping model; wake it and re-run)")
            pytest.fail(f"device {device}", pytrace=False)
        return device

    @pytest.fixture(scope="session")
    def shelly_restorer(self, pytestconfig: pytest.Config) -> Restorer:
        """Undo actions of mutating checks."""
        return pytestconfig.stash[_RESTORER]

    @pytest.fixture(scope="session")
    def shelly_listener(
        self, shelly_options: Options, shelly_target: Target
    ) -> Iterator[Listener | None]:
        """A CoIoT publish listener when --shelly-listen was given, else None."""
        if shelly_options.listen is None:
            yield None
            return
        device_ip = socket.gethostbyname(shelly_target.host)
        try:
            listener = Listener(shelly_options.listen, interface=local_address_towards(device_ip))
        except OSError as exc:
            pytest.fail(f"cannot listen on {shelly_options.listen}: {exc}", pytrace=False)
        try:
            yield listener
        finally:
            listener.close()


class _Reporter:
    """Collects one table row per check and prints the table; one per pytest session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: list[Row] = []
        self.checks: set[str] = set()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.checks = {item.nodeid for item in items if item.path == CHECKS}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.checks:
            return
        check = report.nodeid.split("::", 1)[-1].removeprefix("test_")
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.rows.append(Row(check, _outcome(report), _detail(report)))
        elif report.when == "teardown" and report.failed:
            self.rows.append(Row(check + " (teardown)", "FAIL", _detail(report)))

    def pytest_sessionfinish(self) -> None:
        self.config.stash[_RESTORER].run_all()
        self.config.stash[_TARGET].close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        device = self.config.stash.get(_PROBE, None)
        what = f"{device.model} fw {device.fw}" if isinstance(device, Device) else str(device)
        mode = "mutating" if self.config.getoption("shelly_mutating") else "read-only"
        header = f"Shelly conformance of {self.config.stash[_TARGET].url} ({what}; {mode})"
        terminalreporter.section("shelly conformance")
        for line in render_table(self.rows, header):
            terminalreporter.write_line(line)
        for note in device.notes if isinstance(device, Device) else []:
            terminalreporter.write_line(f"note: {note}")
        for error in self.config.stash[_RESTORER].errors:
            terminalreporter.write_line(f"RESTORE FAILED: {error}", red=True)


def _outcome(report: pytest.TestReport) -> str:
    return {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[report.outcome]


def _detail(report: pytest.TestReport) -> str:
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip().splitlines()[0] if text.strip() else ""
