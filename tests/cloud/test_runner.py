"""The runner: plain (no TLS) mode, several clouds side by side, the demo content, the CLI."""

import queue
import signal
import subprocess
import sys
import threading

import requests

from fake_cloud import CloudConfig, FakeCloud
from tests.cloud.support import TIMEOUT, FakeDevice, WsClient, random_loopback


def test_plain_mode_serves_http_and_ws():
    """With plain=True REST is http:// (port 80 when bindable) and the sockets are ws://."""
    with FakeCloud(CloudConfig(plain=True, demo=True)) as cloud:
        assert cloud.ca_path is None and cloud.api_url.startswith("http://")
        state = requests.get(f"{cloud.api_url}/_fake/state", timeout=TIMEOUT).json()["data"]
        demo = next(u for u in state["users"] if u["email"] == "demo@example.com")
        switch = next(d for d in state["devices"] if d["code"] == "SHSW-1")
        token = cloud.control.integrator_token("ITG_DEMO")
        cloud.control.set_policies(callback_attempts=1)
        ws = WsClient(cloud.ws_url(token, demo["server"]), cloud)
        assert ws.conn.request.path.startswith("/shelly/wss/hk_sock")
        link = FakeDevice(cloud, "5a5a5a", demo["server"])
        ws.send(
            {
                "event": "Integrator:ActionRequest",
                "trid": 1,
                "data": {"action": "DeviceVerify", "deviceId": str(int(switch["id"], 16))},
            }
        )
        assert ws.next("Integrator:ActionResponse")["data"]["result"] == "UNAUTHORIZED"
        link.close()
        ws.close()
        cloud.check()


def test_two_clouds_side_by_side():
    """Each cloud takes its own random loopback block, with the same real ports."""
    with FakeCloud() as one, FakeCloud() as two:
        assert one.endpoints["api"].ip != two.endpoints["api"].ip
        ports = {e.rest_port for e in (*one.endpoints.values(), *two.endpoints.values())}
        assert ports == {443}


def pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in process.stdout or ():
        lines.put(line)


def test_cli_prints_where_everything_is_and_stops_on_sigint():
    """`python -m fake_cloud` prints the URLs, CA and demo credentials, serves, stops."""
    for _ in range(3):
        base = random_loopback().rsplit(".", 1)[0] + ".1"
        process = subprocess.Popen(
            [sys.executable, "-m", "fake_cloud", "--ip", base, "--seed", "7"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=pump, args=(process, lines), daemon=True).start()
        seen = []
        try:
            for _ in range(100):
                line = lines.get(timeout=TIMEOUT * 2)
                seen.append(line)
                if line.strip().startswith("demo:"):
                    break
        except queue.Empty:
            process.kill()
            process.wait(TIMEOUT)
            continue  # the block was taken by someone else: try another
        text = "".join(seen)
        assert f"api  https://{base}" in text and "BEGIN PUBLIC KEY" in text
        ca = next(x.split("CA: ", 1)[1].strip() for x in seen if "CA: " in x)
        answer = requests.get(f"https://{base}/_fake/state", verify=ca, timeout=TIMEOUT)
        assert answer.json()["data"]["seed"] == 7
        process.send_signal(signal.SIGINT)
        assert process.wait(TIMEOUT * 2) == 0
        return
    raise AssertionError("the CLI did not start on any of three blocks")
