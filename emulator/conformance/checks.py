"""Gen1 conformance checks, run by pytest against one device (``--shelly-target URL``).

Each test is one line of the result table. Read-only checks run always; checks that switch
outputs or change settings need ``--shelly-mutating`` and undo what they did, also when they fail
or are interrupted. Facts come from seed 003 (HTTP dialect), ``../shared/spec/clients.md`` (what
clients need) and ``../shared/spec/coiot.md`` (CoIoT bytes); shapes from ``profiles/schemas``.
"""

from __future__ import annotations

import socket
from itertools import zip_longest
from typing import Any

import pytest
from zeroconf import Zeroconf

from emulator.conformance import coap
from emulator.conformance.coiot_rules import (
    CoiotWatch,
    devid_problems,
    publish_timeout,
    status_packet_problems,
)
from emulator.conformance.facts import BadRequest, Device, EndpointCase, Options, Output, stable
from emulator.conformance.report import Restorer
from emulator.conformance.schemas import errors_of, validator
from emulator.conformance.target import DeviceAsleep, Reply, Target, local_address_towards

# Seed 003 'HTTP dialect': 1, y, Y, t, T or case-insensitive true are true, anything else false.
# Values that a first-letter parser would read differently ("yes", "tru") are left out.
TRUE_WORDS = ["1", "y", "Y", "t", "T", "true", "TRUE", "True", "tRuE"]
FALSE_WORDS = ["0", "n", "false", "FALSE", "no", "off", "on", "2"]
MDNS_TYPE = "_http._tcp.local."
MDNS_WAIT_MS = 3000


def _get(target: Target, path: str, params: dict[str, str] | None = None, **kw: Any) -> Reply:
    try:
        return target.get(path, params, **kw)
    except DeviceAsleep as exc:
        pytest.skip(f"device went to sleep: {exc}")


def _json(reply: Reply, what: str) -> Any:
    """The body of a successful answer: HTTP 200, application/json, valid JSON."""
    assert reply.status == 200, f"{what}: HTTP {reply.status}, expected 200: {reply.text[:120]!r}"
    assert reply.media_type == "application/json", (
        f"{what}: Content-Type {reply.content_type!r}, expected application/json"
    )
    try:
        return reply.json()
    except ValueError as exc:
        pytest.fail(f"{what}: body is not JSON ({exc}): {reply.text[:120]!r}", pytrace=False)


def _conforms(device: Device, endpoint: str, body: Any, what: str) -> None:
    problems = errors_of(validator(device.model, endpoint, device.version), body)
    assert not problems, f"{what} does not match {device.model}/{endpoint}.json: " + "; ".join(
        problems[:5]
    )


def _with_credentials(device: Device, target: Target) -> None:
    if device.auth and target.login is None:
        pytest.skip("HTTP auth is on: pass --login USER:PASS")


def _mutating(options: Options) -> None:
    if not options.mutating:
        pytest.skip("read-only run: pass --mutating to switch outputs and change settings")


# ------------------------------------------------------------------------------------ HTTP


def test_shelly(shelly_device: Device, shelly_target: Target) -> None:
    """/shelly: 200 application/json without credentials, matching the model's schema."""
    body = _json(_get(shelly_target, "/shelly", auth=False), "/shelly")
    _conforms(shelly_device, "shelly", body, "/shelly")


def test_shelly_open_with_auth_on(shelly_device: Device, shelly_target: Target) -> None:
    """With auth on, /shelly still answers without (or with wrong) credentials (seed 003)."""
    if not shelly_device.auth:
        pytest.skip("HTTP auth is off on the device")
    for creds in (False, ("conformance", "wrong-password")):
        reply = _get(shelly_target, "/shelly", auth=creds)
        assert reply.status == 200, f"/shelly answered HTTP {reply.status} with auth on"


def test_auth_required(
    endpoint_case: EndpointCase | None, shelly_device: Device, shelly_target: Target
) -> None:
    """With auth on, every other resource answers 401 without or with wrong credentials."""
    if not shelly_device.auth:
        pytest.skip("HTTP auth is off on the device")
    assert endpoint_case is not None
    for creds in (False, ("conformance", "wrong-password")):
        reply = _get(shelly_target, endpoint_case.path, auth=creds)
        label = "no credentials" if creds is False else "wrong credentials"
        assert reply.status == 401, f"{endpoint_case.path} with {label}: HTTP {reply.status}"


def test_endpoint(
    endpoint_case: EndpointCase | None, shelly_device: Device, shelly_target: Target
) -> None:
    """Every documented resource: 200 application/json matching its schema."""
    _with_credentials(shelly_device, shelly_target)
    assert endpoint_case is not None, "no endpoints derived from /settings"
    body = _json(_get(shelly_target, endpoint_case.path), endpoint_case.path)
    _conforms(shelly_device, endpoint_case.endpoint, body, endpoint_case.path)


def test_identity_is_consistent(shelly_device: Device, shelly_target: Target) -> None:
    """/shelly, /settings and /status name one device: type, MAC, firmware, hostname."""
    _with_credentials(shelly_device, shelly_target)
    shelly, settings = shelly_device.shelly, shelly_device.settings or {}
    status = shelly_device.status or {}
    mac = shelly.get("mac", "")
    assert settings.get("device", {}).get("type") == shelly.get("type"), "device.type != type"
    assert settings.get("device", {}).get("mac") == mac, "/settings device.mac != /shelly mac"
    assert status.get("mac") == mac, "/status mac != /shelly mac"
    assert settings.get("fw") == shelly.get("fw"), "/settings fw != /shelly fw"
    assert status.get("update", {}).get("old_version") == shelly.get("fw"), (
        "/status update.old_version != /shelly fw"
    )
    suffix = str(settings.get("device", {}).get("hostname", "")).rpartition("-")[2]
    assert suffix in (mac, mac[-6:]), f"hostname suffix {suffix!r} is neither MAC nor MAC[-6:]"


def test_bad_request(
    bad_request: BadRequest | None,
    shelly_device: Device,
    shelly_target: Target,
    shelly_restorer: Restorer,
) -> None:
    """A bad request gets 4xx text/plain and changes nothing (seed 003 'HTTP dialect')."""
    assert bad_request is not None
    if bad_request.skip:
        pytest.skip(bad_request.skip)
    _with_credentials(shelly_device, shelly_target)
    before = _json(_get(shelly_target, "/settings"), "/settings")

    def undo() -> None:
        """Put back only what the device wrongly took: no needless flash writes."""
        for path, params in _undo_requests(bad_request, before, shelly_target.json("/settings")):
            shelly_target.get(path, params)

    with shelly_restorer.undoing(f"{bad_request.path} {bad_request.params}", undo):
        reply = _get(shelly_target, bad_request.path, bad_request.params)
        after = _json(_get(shelly_target, "/settings"), "/settings")
    assert 400 <= reply.status < 500, f"{bad_request.path}: HTTP {reply.status}, expected 4xx"
    assert reply.media_type == "text/plain", (
        f"{bad_request.path}: error Content-Type {reply.content_type!r}, expected text/plain"
    )
    changed = sorted(
        k for k in before.keys() | after.keys() if stable(before.get(k)) != stable(after.get(k))
    )
    assert not changed, f"/settings changed after a refused request: {changed}"


def _param(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _undo_requests(
    bad: BadRequest, before: dict[str, Any], now: dict[str, Any]
) -> list[tuple[str, dict[str, str]]]:
    """Requests putting back what ``bad`` changed although it should have been refused."""
    undo = [
        ("/settings", {key: _param(before[key])})
        for key in bad.params
        if key in before and now.get(key) != before[key]
    ]
    parts = bad.path.strip("/").split("/")  # relay/0, settings/relay/0, settings
    kind = parts[1] if parts[0] == "settings" and len(parts) > 1 else parts[0]
    was, is_ = ((doc.get(kind + "s") or [{}])[0] for doc in (before, now))
    for key in bad.params:
        if key in was and is_.get(key) != was[key]:
            undo.append((f"/settings/{kind}/0", {key: _param(was[key])}))
    if "ison" in was and is_.get("ison") != was["ison"]:
        undo.append((f"/{kind}/0", {"turn": "on" if was["ison"] else "off"}))
    return undo


def test_boolean_dialect(
    shelly_device: Device,
    shelly_target: Target,
    shelly_options: Options,
    shelly_restorer: Restorer,
) -> None:
    """1 y Y t T true (any case) set a boolean; any other word clears it (seed 003)."""
    _mutating(shelly_options)
    _with_credentials(shelly_device, shelly_target)
    original = (shelly_device.settings or {}).get("discoverable")
    if not isinstance(original, bool):
        pytest.skip("no harmless boolean setting: /settings has no discoverable (fw < 1.6)")

    with shelly_restorer.undoing("discoverable", lambda: _discoverable(shelly_target, original)):
        for true_word, false_word in zip_longest(TRUE_WORDS, FALSE_WORDS):
            for word, expected in ((true_word, True), (false_word, False)):
                if word is None:
                    continue
                body = _json(_get(shelly_target, "/settings", {"discoverable": word}), "/settings")
                assert body.get("discoverable") is expected, (
                    f"discoverable={word!r} gave {body.get('discoverable')!r}, expected {expected}"
                )


def _discoverable(target: Target, value: bool) -> None:
    """Set /settings discoverable: harmless, present on every model since fw 1.6.0."""
    target.get("/settings", {"discoverable": str(value).lower()})


def test_settings_change_is_counted(
    request: pytest.FixtureRequest,
    shelly_device: Device,
    shelly_target: Target,
    shelly_options: Options,
    shelly_restorer: Restorer,
    shelly_listener: coap.Listener | None,
) -> None:
    """A settings change bumps /status cfg_changed_cnt and CoIoT cfgChanged (clients.md 6.1)."""
    _mutating(shelly_options)
    _with_credentials(shelly_device, shelly_target)
    original = (shelly_device.settings or {}).get("discoverable")
    count = (shelly_device.status or {}).get("cfg_changed_cnt")
    if not isinstance(original, bool) or not isinstance(count, int):
        pytest.skip("needs discoverable in /settings and cfg_changed_cnt in /status (fw >= 1.8)")

    watch = _watch(request, shelly_listener)
    with shelly_restorer.undoing("discoverable", lambda: _discoverable(shelly_target, original)):
        _discoverable(shelly_target, not original)
        after = _json(_get(shelly_target, "/status"), "/status").get("cfg_changed_cnt")
        assert isinstance(after, int) and after > count, f"cfg_changed_cnt {count} -> {after}"
        if watch is not None:
            watch.expect("device", "cfgChanged", after)


def test_output_follows(
    request: pytest.FixtureRequest,
    output: Output | None,
    shelly_device: Device,
    shelly_target: Target,
    shelly_options: Options,
    shelly_restorer: Restorer,
    shelly_listener: coap.Listener | None,
) -> None:
    """turn=on/off switches the output; the answer, /status and CoIoT show it (seed 003)."""
    _mutating(shelly_options)
    if output is None:
        pytest.skip("the model has no relay or light output in this mode")
    _with_credentials(shelly_device, shelly_target)
    status = _json(_get(shelly_target, "/status"), "/status")
    initial = bool(status[output.collection][output.index]["ison"])

    def turn(on: bool) -> None:
        shelly_target.get(output.path, {"turn": "on" if on else "off"})

    watch = _watch(request, shelly_listener)
    wanted = not initial
    with shelly_restorer.undoing(
        f"{output.path} back {'on' if initial else 'off'}", lambda: turn(initial)
    ):
        answer = _json(
            _get(shelly_target, output.path, {"turn": "on" if wanted else "off"}), output.path
        )
        assert answer.get("ison") is wanted, f"{output.path} answered ison={answer.get('ison')}"
        status = _json(_get(shelly_target, "/status"), "/status")
        assert status[output.collection][output.index]["ison"] is wanted, "/status did not follow"
        if watch is not None:
            watch.expect(f"{output.kind}_{output.index}", "output", int(wanted))
    status = _json(_get(shelly_target, "/status"), "/status")
    assert status[output.collection][output.index]["ison"] is initial, "not restored"


# ---------------------------------------------------------------------------------- CoIoT


@pytest.fixture(scope="module")
def cit_d(shelly_device: Device, shelly_target: Target, shelly_options: Options) -> coap.Packet:
    """The device's answer to a CON GET /cit/d (as node-shellies and ioBroker send it)."""
    packet = coap.request(shelly_target.host, shelly_options.coap_port, "d", confirmable=True)
    if packet is None and shelly_device.info.sleep_mode:
        pytest.skip("no CoAP answer; the device sleeps")
    assert packet is not None, (
        f"no answer to CoAP GET /cit/d at {shelly_target.host}:{shelly_options.coap_port}"
    )
    return packet


def test_coiot_cit_d(cit_d: coap.Packet, shelly_device: Device) -> None:
    """CoAP GET /cit/d: piggy-backed ACK 2.05, same MID/token, 3332, JSON description."""
    problems = devid_problems(shelly_device, cit_d.devid)
    if cit_d.code != coap.CoapCode.CONTENT:
        problems.append(f"code {cit_d.code}, expected 2.05")
    if cit_d.mtype != "ACK" or cit_d.token:
        problems.append(f"type {cit_d.mtype} token {cit_d.token!r}, expected ACK with empty token")
    assert not problems, "; ".join(problems)
    _conforms(shelly_device, "cit_d", cit_d.json(), "CoAP /cit/d")


def test_coiot_cit_s(
    cit_d: coap.Packet, shelly_device: Device, shelly_target: Target, shelly_options: Options
) -> None:
    """CoAP NON GET /cit/s (aioshelly's bytes): NON 2.05, same MID, cit/s, 3332/3412/3420, G."""
    packet = coap.request(shelly_target.host, shelly_options.coap_port, "s", confirmable=False)
    assert packet is not None, (
        f"no answer to CoAP GET /cit/s at {shelly_target.host}:{shelly_options.coap_port}"
    )
    problems = status_packet_problems(shelly_device, packet, cit_d.json())
    if packet.code != coap.CoapCode.CONTENT or packet.mtype != "NON":
        problems.append(f"{packet.mtype} code {packet.code}, expected NON 2.05 to a NON request")
    assert not problems, "; ".join(problems)


def _listening(device: Device, options: Options, listener: coap.Listener | None) -> coap.Listener:
    if listener is None:
        pytest.skip("not listening: pass --listen [HOST:PORT] to check CoIoT publishes")
    if ((device.settings or {}).get("coiot") or {}).get("enabled") is False:
        pytest.skip("CoIoT is disabled in the device's /settings")
    return listener


def test_coiot_publish(
    cit_d: coap.Packet,
    shelly_device: Device,
    shelly_target: Target,
    shelly_options: Options,
    shelly_listener: coap.Listener | None,
) -> None:
    """Periodic 0.30 publishes: NON, cit/s, 3332, 2-byte LE validity and serial, new MID each."""
    listener = _listening(shelly_device, shelly_options, shelly_listener)
    device_ip = socket.gethostbyname(shelly_target.host)
    timeout = publish_timeout(shelly_device, shelly_options)
    first = listener.next_publish(device_ip, timeout)
    where = f"{listener.address[0]}:{listener.address[1]}"
    if first is None and listener.multicast_error:
        pytest.skip(f"no publish on {where}; {listener.multicast_error}")
    assert first is not None, f"no 0.30 publish from {device_ip} on {where} within {timeout:.0f} s"
    problems = status_packet_problems(shelly_device, first, cit_d.json())
    if first.mtype != "NON":
        problems.append(f"publish type {first.mtype}, expected NON")
    second = listener.next_publish(device_ip, timeout)
    if second is not None and second.mid == first.mid:
        problems.append(f"two publishes with message id {first.mid}: clients drop repeats")
    assert not problems, "; ".join(problems)


def _watch(request: pytest.FixtureRequest, listener: coap.Listener | None) -> CoiotWatch | None:
    """A publish watch when listening to a CoIoT v2 device; v1 names no standard sensors."""
    device: Device = request.getfixturevalue("shelly_device")
    if listener is None or device.coiot_version == 1:
        return None
    return CoiotWatch(request, listener)


def test_mdns_presence(
    shelly_device: Device, shelly_target: Target, shelly_options: Options
) -> None:
    """The device announces _http._tcp as its hostname, on its address and HTTP port (seed 003)."""
    if not shelly_options.mdns:
        pytest.skip("mDNS check disabled (--no-mdns)")
    hostname = ((shelly_device.settings or {}).get("device") or {}).get("hostname")
    if not hostname:
        pytest.skip("hostname unknown: /settings was not readable")
    device_ip = socket.gethostbyname(shelly_target.host)
    try:
        zc = Zeroconf(interfaces=[local_address_towards(device_ip)])
    except OSError as exc:
        pytest.skip(f"zeroconf cannot browse here: {exc}")
    try:
        info = zc.get_service_info(MDNS_TYPE, f"{hostname}.{MDNS_TYPE}", timeout=MDNS_WAIT_MS)
    finally:
        zc.close()
    assert info is not None, f"no {hostname}.{MDNS_TYPE} answered within {MDNS_WAIT_MS} ms"
    assert info.port == shelly_target.port, (
        f"mDNS port {info.port}, HTTP is on {shelly_target.port}"
    )
    assert device_ip in info.parsed_addresses(), f"mDNS addresses {info.parsed_addresses()}"
