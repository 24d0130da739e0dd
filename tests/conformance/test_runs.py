"""Whole conformance runs against test doubles: the well-behaved one passes, each fault fails
exactly the check that names it, and the device is left as it was found."""

from __future__ import annotations

import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from zeroconf import ServiceInfo, Zeroconf

from .doubles import Double, free_udp_address, random_loopback

RUN_TIMEOUT = 120  # seconds; a run against a double takes about one


@dataclass
class Run:
    """Outcome of one ``python -m emulator.conformance`` run."""

    code: int
    checks: dict[str, tuple[str, str]]  # check -> (PASS|FAIL|SKIP, message)
    output: str

    def failed(self) -> set[str]:
        return {name for name, (outcome, _) in self.checks.items() if outcome == "FAIL"}


def _junit(path: Path) -> dict[str, tuple[str, str]]:
    checks = {}
    for case in ET.parse(path).iter("testcase"):
        name = case.get("name", "").removeprefix("test_")
        outcome, message = "PASS", ""
        for tag, label in (("failure", "FAIL"), ("error", "FAIL"), ("skipped", "SKIP")):
            element = case.find(tag)
            if element is not None:
                outcome, message = label, element.get("message", "")
        checks[name] = (outcome, message)
    return checks


@pytest.fixture
def conformance(tmp_path: Path) -> Callable[..., Run]:
    """Run the tester in a subprocess, as a user would, and read its JUnit report."""

    def run(url: str, *args: str) -> Run:
        junit = tmp_path / f"junit-{len(list(tmp_path.iterdir()))}.xml"
        cmd = [sys.executable, "-m", "emulator.conformance", url, "--junit", str(junit), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp_path
        )
        checks = _junit(junit) if junit.exists() else {}
        return Run(proc.returncode, checks, proc.stdout + proc.stderr)

    return run


@pytest.fixture
def make_double() -> Iterator[Callable[..., Double]]:
    """Factory of running doubles, all stopped at the end of the test."""
    made: list[Double] = []

    def make(**kwargs: Any) -> Double:
        made.append(Double(**kwargs))
        return made[-1]

    yield make
    for double in made:
        double.stop()


def _args(double: Double, *extra: str) -> list[str]:
    return ["--coap-port", str(double.coap_port), "--timeout", "3", *extra]


@pytest.mark.parametrize("model", ["SHSW-1", "SHPLG-S"])
def test_well_behaved_double_passes_read_only(
    model: str, make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """Capture-shaped answers pass every read-only check; the rest skip with a reason."""
    double = make_double(model=model)
    run = conformance(double.url, *_args(double, "--no-mdns"))
    assert run.code == 0, run.output
    assert run.failed() == set()
    assert run.checks["endpoint[status]"][0] == "PASS"
    assert run.checks["coiot_cit_s"][0] == "PASS"
    assert "read-only run" in run.checks["output_follows[relay/0]"][1]
    assert "shelly conformance" in run.output  # the table


@pytest.mark.parametrize("model", ["SHSW-1", "SHPLG-S"])
def test_mutating_listening_run_passes_and_restores(
    model: str, make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """Toggling, the boolean dialect and CoIoT publishes pass; the device ends as it began."""
    listen = free_udp_address()
    double = make_double(model=model, peer=listen)
    before = (double.status["relays"][0]["ison"], double.settings["discoverable"])
    listen_arg = f"--listen={listen[0]}:{listen[1]}"
    run = conformance(double.url, *_args(double, "--mutating", listen_arg, "--no-mdns"))
    assert run.code == 0, run.output
    for check in ("boolean_dialect", "settings_change_is_counted", "output_follows[relay/0]"):
        assert run.checks[check][0] == "PASS", run.checks[check]
    assert run.checks["coiot_publish"][0] == "PASS", run.checks["coiot_publish"]
    if model == "SHPLG-S":
        assert run.checks["bad_request[settings-max_power-negative]"][0] == "PASS"
    assert (double.status["relays"][0]["ison"], double.settings["discoverable"]) == before


def test_auth_on_with_login_passes(
    make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """With auth on, /shelly stays open and every other endpoint wants the credentials."""
    double = make_double(login=("admin", "s3cret"))
    run = conformance(double.url, *_args(double, "--login", "admin:s3cret", "--no-mdns"))
    assert run.code == 0, run.output
    assert run.checks["shelly_open_with_auth_on"][0] == "PASS"
    assert run.checks["auth_required[status]"][0] == "PASS"


def test_auth_on_without_login_runs_only_open_checks(
    make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """Without --login on an auth device the other checks skip and say why."""
    double = make_double(login=("admin", "s3cret"))
    run = conformance(double.url, *_args(double, "--no-mdns"))
    assert run.code == 0, run.output
    assert run.checks["shelly"][0] == "PASS"
    assert "pass --login" in run.checks["endpoint[status]"][1]


@pytest.mark.parametrize(
    ("fault", "check", "says"),
    [
        pytest.param("wrong_type", "endpoint[status]", "uptime", id="wrong-type"),
        pytest.param("missing_key", "endpoint[status]", "'cloud' is a required", id="missing-key"),
        pytest.param(
            "ok_for_bad_param", "bad_request[relay-turn-bogus]", "HTTP 200", id="200-for-bad-param"
        ),
        pytest.param("server_error", "endpoint[relay/0]", "HTTP 500", id="5xx"),
        pytest.param("wrong_content_type", "endpoint[status]", "text/html", id="content-type"),
        pytest.param("auth_hole", "auth_required[status]", "HTTP 200", id="auth-hole"),
    ],
)
def test_broken_double_fails_the_named_check(
    fault: str,
    check: str,
    says: str,
    make_double: Callable[..., Double],
    conformance: Callable[..., Run],
) -> None:
    """Each deliberate defect fails exactly its check, with a message naming the defect."""
    login = ("admin", "s3cret") if fault == "auth_hole" else None
    double = make_double(faults=frozenset({fault}), login=login)
    extra = ["--login", "admin:s3cret"] if login else []
    run = conformance(double.url, *_args(double, "--no-mdns", *extra))
    assert run.code == 1, run.output
    assert run.failed() == {check}, run.checks
    assert says in run.checks[check][1]
    assert check in run.output  # named in the table too


def test_failed_mutating_check_still_restores(
    make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """When /status does not follow a toggle, the check fails and the relay is put back."""
    double = make_double(faults=frozenset({"status_lags"}))
    initial = double.status["relays"][0]["ison"]
    run = conformance(double.url, *_args(double, "--mutating", "--no-mdns"))
    assert run.code == 1
    assert "output_follows[relay/0]" in run.failed()
    assert double.status["relays"][0]["ison"] == initial


def test_refused_request_that_changed_settings_fails_and_is_undone(
    make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """A 4xx that still stored the bad value is caught by comparing /settings, then undone."""
    double = make_double(faults=frozenset({"keeps_bad_value"}))
    original = double.settings["relays"][0]["default_state"]
    run = conformance(double.url, *_args(double, "--no-mdns"))
    check = "bad_request[settings_relay-default_state-bogus]"
    assert run.failed() == {check}, run.checks
    assert "/settings changed" in run.checks[check][1]
    assert double.settings["relays"][0]["default_state"] == original


def _closed_port() -> tuple[str, int]:
    with socket.socket() as sock:
        sock.bind((random_loopback(), 0))
        return sock.getsockname()


def test_sleeping_model_is_reported_asleep_not_failed(conformance: Callable[..., Run]) -> None:
    """No answer from an H&T is sleep: every check skips, the run succeeds."""
    host, port = _closed_port()
    run = conformance(f"http://{host}:{port}", "--profile", "SHHT-1", "--timeout", "1")
    assert run.code == 0, run.output
    assert run.checks and all(outcome == "SKIP" for outcome, _ in run.checks.values())
    assert "asleep" in run.checks["shelly"][1]


def test_silent_mains_device_fails(conformance: Callable[..., Run]) -> None:
    """No answer from a mains-powered model is a failure."""
    host, port = _closed_port()
    run = conformance(f"http://{host}:{port}", "--profile", "SHSW-1", "--timeout", "1")
    assert run.code == 1
    assert "unusable" in run.checks["shelly"][1]


@pytest.mark.parametrize("announced", [True, False], ids=["announced", "silent"])
def test_mdns_presence(
    announced: bool, make_double: Callable[..., Double], conformance: Callable[..., Run]
) -> None:
    """The device's hostname must be answered over mDNS with its address and port."""
    double = make_double()
    zc = Zeroconf(interfaces=["127.0.0.1"])
    hostname = double.settings["device"]["hostname"]
    info = ServiceInfo(
        "_http._tcp.local.",
        f"{hostname}._http._tcp.local.",
        addresses=[socket.inet_aton(double.host)],
        port=int(double.url.rsplit(":", 1)[1]),
        server=f"{hostname}.local.",
    )
    try:
        if announced:
            zc.register_service(info, cooperating_responders=True)
        run = conformance(double.url, *_args(double))
    finally:
        zc.close()
    expected = "PASS" if announced else "FAIL"
    assert run.checks["mdns_presence"][0] == expected, run.checks["mdns_presence"]


def test_pytest_option_runs_the_checks(make_double: Callable[..., Double], tmp_path: Path) -> None:
    """`pytest --shelly-target URL` runs the same checks (the plugin is a pytest11 entry point
    of the installed project: no -p, no conftest)."""
    double = make_double()
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    cmd += ["--shelly-target", double.url, "--shelly-coap-port", str(double.coap_port)]
    cmd += ["--shelly-no-mdns", "-c", "/dev/null", "--rootdir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "endpoint[status]" in proc.stdout
