"""Issue 18's abuse cases, played against a device runtime and a fake cloud in child processes,
one figure per case (what a careless or hostile client gets, and what it costs the server).

    python -m bench.abuse            # every case (about a minute)

The device child runs with a descriptor limit of 1,024 (soft and hard), as the issue's machine
did; RSS and descriptors are read from /proc/<pid>. Only 127.0.0.0/8 is used; every loop is
bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench._common import emit

_BENCH = "abuse"
_FD_LIMIT = 1024


# --- child processes -------------------------------------------------------------------------


def _serve_devices() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_FD_LIMIT, _FD_LIMIT))
    import logging

    from emulator.runtime import Runtime
    from emulator.transports.net import free_loopback_address

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    runtime = Runtime().start()
    plain = runtime.add_device("SHSW-1", ip=free_loopback_address(80), http_port=80)
    other = runtime.add_device("SHSW-1", ip=free_loopback_address(80), http_port=80)
    secured = runtime.add_device(
        "SHSW-1", ip=free_loopback_address(80), http_port=80, login=("admin", "secret")
    )
    print(json.dumps({"a": plain.ip, "b": other.ip, "login": secured.ip}), flush=True)
    sys.stdin.read()
    runtime.stop()


def _serve_cloud() -> None:
    from fake_cloud import CloudConfig, FakeCloud

    cloud = FakeCloud(CloudConfig(plain=True)).start()
    user = cloud.control.create_user("abuse@example.com", "pw")
    roller = {"rollers": [{"state": "stop", "positioning": True, "current_pos": 0}]}
    device = cloud.control.create_device("SHSW-25", user.id, "abc123", status=roller)
    url = cloud.control.oauth_authorize(user.email, user.password, "https://x.example/cb")
    code = url.split("code=")[1].split("&")[0]
    server = cloud.backend.server(user.server).name
    token = cloud.services.authority.exchange("code", code, "shelly-diy", server)["access_token"]
    print(
        json.dumps(
            {
                "api": cloud.api_url,
                "ws": cloud.ws_url(token, server),
                "ws_base": cloud.endpoints[server].ws_base,
                "device": str(int(device.id, 16)),
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    cloud.stop()


class _Child:
    """A child process serving until its stdin closes; its stderr goes to a file."""

    def __init__(self, role: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix=f"abuse-{role}-", suffix=".log")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.abuse", "--serve", role],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"abuse: the {role} child did not start: {self.log_text()[-2000:]}")
        self.info: dict[str, str] = json.loads(line)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return math.nan

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def log_bytes(self) -> int:
        return os.path.getsize(self.log.name)

    def log_text(self) -> str:
        with open(self.log.name, errors="replace") as log:
            return log.read()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


# --- raw HTTP helpers ----------------------------------------------------------------------------


def _connect(ip: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((ip, 80), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _answer(sock: socket.socket, timeout: float) -> str:
    """The status line of the answer, 'closed' (EOF, reset) or 'no answer' within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed" if not data else data.decode("latin-1").split("\r\n")[0]
            data += chunk
    except TimeoutError:
        return "no answer"
    except ConnectionResetError:
        return "reset"
    return data.split(b"\r\n")[0].decode("latin-1")


def _read_response(sock: socket.socket) -> int:
    """Read one whole response (Content-Length framed); its status, or 0 when closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        rest += chunk
    return int(head.split(b" ", 2)[1])


def _is_closed(sock: socket.socket) -> bool:
    """True when the server closed the connection (whatever it answered before)."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


# --- device cases -----------------------------------------------------------------------------


def _big_headers(child: _Child) -> None:
    sock = _connect(child.info["a"])
    header = "X-Big: " + "h" * 8000 + "\r\n"
    sock.sendall(f"GET /shelly HTTP/1.1\r\nHost: a\r\n{header * 200}\r\n".encode())
    emit(_BENCH, "200 headers of 8 KB", _answer(sock, 5))
    sock.close()


def _big_body(child: _Child) -> None:
    sock = _connect(child.info["a"])
    total = 50 * 1024 * 1024
    sock.sendall(f"POST /settings HTTP/1.1\r\nHost: a\r\nContent-Length: {total}\r\n\r\n".encode())
    chunk = b"x" * 65536
    sent = 0
    started = time.perf_counter()
    sock.settimeout(5)
    with contextlib.suppress(OSError):
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sent += sock.send(chunk)
    answer = _answer(sock, 5)
    seconds = time.perf_counter() - started
    emit(_BENCH, "50 MB body: answer", answer)
    emit(_BENCH, "50 MB body: sent before the answer", round(sent / 1e6, 1), "MB")
    emit(_BENCH, "50 MB body: time to answer", round(seconds, 2), "s")
    sock.close()


def _crlf_flood(child: _Child) -> None:
    sock = _connect(child.info["a"])
    with contextlib.suppress(OSError):
        sock.sendall(b"\r\n" * (512 * 1024))
    emit(_BENCH, "1 MB of bare CRLF: within 5 s", _answer(sock, 5))
    sock.close()


def _unauthenticated_memory(child: _Child) -> None:
    query = "q=" + "x" * 60_000
    request = f"GET /status?{query} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    before = child.rss_mb()
    statuses: dict[int, int] = {}
    sock = _connect(child.info["login"])
    for _ in range(3000):
        try:
            sock.sendall(request)
            status = _read_response(sock)
        except OSError:
            status = 0
        statuses[status] = statuses.get(status, 0) + 1
        if status == 0 or (status >= 400 and status not in (401,)):
            sock.close()
            sock = _connect(child.info["login"])
    sock.close()
    time.sleep(0.5)
    emit(_BENCH, "3,000 unauthenticated 60 KB requests: answers", json.dumps(statuses))
    emit(_BENCH, "3,000 unauthenticated 60 KB requests: RSS growth", child.rss_mb() - before, "MB")


def _slowloris(child: _Child, count: int = 300, seconds: float = 15.0) -> None:
    socks = []
    for _ in range(count):
        sock = _connect(child.info["a"])
        sock.sendall(b"GET /shelly HTTP/1.1\r\nHost: a\r\n")
        socks.append(sock)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b"X-a: b\r\n")
        time.sleep(1)
    emit(
        _BENCH,
        f"{count} slowloris connections: open after {seconds:.0f} s",
        sum(not _is_closed(sock) for sock in socks),
    )
    for sock in socks:
        sock.close()


def _idle_flood(child: _Child, count: int = 1100) -> None:
    log_before = child.log_bytes()
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection((child.info["a"], 80), timeout=2))
        except OSError:
            break
    started = time.monotonic()
    served = 0
    for _ in range(5):
        try:
            sock = _connect(child.info["b"], timeout=2)
            sock.sendall(b"GET /shelly HTTP/1.1\r\nHost: b\r\n\r\n")
            sock.settimeout(2)
            served += _read_response(sock) == 200
            sock.close()
        except OSError:
            pass
    time.sleep(max(0.0, 10 - (time.monotonic() - started)))
    emit(_BENCH, f"{count} idle connections to A: B's clients served", f"{served}/5")
    emit(
        _BENCH,
        f"{count} idle connections to A: log growth in 10 s",
        round((child.log_bytes() - log_before) / 1024, 1),
        "KB",
    )
    emit(_BENCH, f"{count} idle connections to A: descriptors", child.fds())
    for sock in socks:
        sock.close()


# --- cloud cases -----------------------------------------------------------------------------


def _cloud_cases(child: _Child) -> None:
    import requests
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    info = child.info
    before = child.rss_mb()
    with connect(info["ws"], compression=None, max_size=None) as ws:
        for _ in range(100):
            ws.send(os.urandom(1024 * 1024))
        for _ in range(100):
            ws.recv(timeout=10)
    time.sleep(0.5)
    emit(_BENCH, "cloud: 100 binary 1 MB frames: RSS growth", child.rss_mb() - before, "MB")

    before = child.rss_mb()
    statuses: dict[int, int] = {}
    body = b"itg=x&token=" + b"y" * (5 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(30):
        try:
            status = requests.post(
                f"{info['api']}/integrator/get_access_token", data=body, headers=headers, timeout=10
            ).status_code
        except requests.RequestException:
            status = 0
        statuses[status] = statuses.get(status, 0) + 1
    time.sleep(0.5)
    emit(_BENCH, "cloud: 30 POSTs of 5 MB: answers", json.dumps(statuses))
    emit(_BENCH, "cloud: 30 POSTs of 5 MB: RSS growth", child.rss_mb() - before, "MB")

    def command(ws: Any, frame: str, name: str) -> None:
        ws.send(frame)
        try:
            answer = ws.recv(timeout=3)
            shown = answer if len(answer) < 160 else answer[:160] + "..."
        except TimeoutError:
            shown = "no answer in 3 s"
        except ConnectionClosed as closed:
            shown = f"socket closed {closed.rcvd.code if closed.rcvd else '?'}"
        emit(_BENCH, f"cloud: {name}", shown)

    device = info["device"]
    cases = [
        ('{"event":"Shelly:CommandRequest","trid":1,"deviceId":"²","data":'
         '{"cmd":"relay","params":{"id":0,"turn":"on"}}}', 'deviceId "²"'),
        (f'{{"event":"Shelly:CommandRequest","trid":2,"deviceId":"{device}","data":'
         '{"cmd":"roller","params":{"id":0,"go":[]}}}', "roller go []"),
        (f'{{"event":"Shelly:CommandRequest","trid":NaN,"deviceId":"{device}","data":'
         '{"cmd":"roller","params":{"id":0,"go":"stop"}}}', "trid NaN"),
        ("[" * 100_000 + "]" * 100_000, "100,000-deep nested frame"),
    ]  # fmt: skip
    for frame, name in cases:
        try:
            with connect(info["ws"], compression=None, open_timeout=5) as ws:
                command(ws, frame, name)
        except (OSError, ConnectionClosed) as error:
            emit(_BENCH, f"cloud: {name}", f"error {error!r}")


def _cloud_link_recovers(child: _Child) -> None:
    """A link whose server lookup fails once (the fleet's KeyError) must retry and connect."""
    from emulator.runtime import Runtime
    from emulator.transports.cloud_link import CloudLinks
    from emulator.transports.net import free_loopback_address

    calls = {"n": 0}

    def server_for(host: object) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("device not in the fleet yet")
        return child.info["ws_base"]

    with Runtime() as runtime:
        host = runtime.add_device("SHSW-1", ip=free_loopback_address(0), http_port=0)
        CloudLinks(runtime, server_for)
        host.get("settings/cloud", enabled="1")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not host.status()["cloud"]["connected"]:
            time.sleep(0.2)
        emit(
            _BENCH,
            "cloud link: lookup fails once, connected after 8 s",
            host.status()["cloud"]["connected"],
        )


def _fleet_control_off() -> None:
    from emulator.fleet.spec import parse_fleet

    spec = parse_fleet({"control": False, "devices": [{"model": "SHSW-1", "address": "127.9.0.1"}]})
    off = getattr(spec, "control_off", False)
    emit(
        _BENCH,
        "fleet file control: off",
        "off" if off else f"control={spec.control} (default serves)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", choices=["devices", "cloud"])
    parser.add_argument("--only", help="run only the cases whose function name contains this")
    args = parser.parse_args()
    if args.serve == "devices":
        _serve_devices()
        return 0
    if args.serve == "cloud":
        _serve_cloud()
        return 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    devices = _Child("devices")
    try:
        for case in (_big_headers, _big_body, _crlf_flood, _unauthenticated_memory, _slowloris,
                     _idle_flood):  # fmt: skip
            if args.only is None or args.only in case.__name__:
                case(devices)
    finally:
        devices.stop()
    cloud = _Child("cloud")
    try:
        if args.only is None or args.only in "_cloud_cases":
            _cloud_cases(cloud)
        if args.only is None or args.only in "_cloud_link_recovers":
            _cloud_link_recovers(cloud)
    finally:
        cloud.stop()
    _fleet_control_off()
    return 0


if __name__ == "__main__":
    sys.exit(main())
