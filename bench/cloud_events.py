"""Fake cloud: state change → integrator event latency, and events/s to one integrator socket.

Run: `.venv/bin/python bench/cloud_events.py [--rounds N] [--burst M] [--no-recorder]`.
Prints figures only. A fake device (websockets client on the device link) and an integrator
socket run in this process's own event loop; the cloud runs in its own thread, over TLS on a
random loopback block, as in the tests. Loops are bounded in count and time.
"""

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import ClientConnection, connect

from fake_cloud import CloudConfig, FakeCloud
from fake_cloud.state.backend import Grant

HEXID = "b0b0b0"
WAIT = 10.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<44} n={len(ms):<6} p50={percentile(ms, 0.5):.3f} ms  "
        f"p99={percentile(ms, 0.99):.3f} ms  max={max(ms):.3f} ms"
    )


async def next_event(ws: ClientConnection, event: str) -> dict:
    async with asyncio.timeout(WAIT):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("event") == event:
                return frame


async def link_latency(device: ClientConnection, ws: ClientConnection, rounds: int) -> list[float]:
    """Device status frame sent → Shelly:StatusOnChange received by the integrator."""
    samples = []
    for i in range(rounds):
        status = {"relays": [{"ison": i % 2 == 0}], "n": i}
        start = time.perf_counter()
        await device.send(json.dumps({"type": "status", "status": status}))
        await next_event(ws, "Shelly:StatusOnChange")
        samples.append(time.perf_counter() - start)
    return samples


async def api_latency(cloud: FakeCloud, ws: ClientConnection, rounds: int) -> list[float]:
    """In-process state change (control plane, another thread) → event received."""
    samples = []
    loop = asyncio.get_running_loop()
    for i in range(rounds):
        start = time.perf_counter()
        await loop.run_in_executor(None, cloud.control.set_status, HEXID, {"n": i})
        await next_event(ws, "Shelly:StatusOnChange")
        samples.append(time.perf_counter() - start)
    return samples


async def command_rtt(device: ClientConnection, ws: ClientConnection, rounds: int) -> list[float]:
    """CommandRequest → the device answers the call → Shelly:CommandResponse."""

    async def answer_calls() -> None:
        async for message in device:
            call = json.loads(message)
            if call.get("type") == "call":
                reply = {"type": "result", "id": call["id"], "code": 200, "body": {}}
                await device.send(json.dumps(reply))

    answering = asyncio.create_task(answer_calls())
    samples = []
    data = {"cmd": "relay", "params": {"id": 0, "turn": "toggle"}}
    for trid in range(1, rounds + 1):
        request = {"event": "Shelly:CommandRequest", "trid": trid, "deviceId": str(int(HEXID, 16))}
        start = time.perf_counter()
        await ws.send(json.dumps({**request, "data": data}))
        await next_event(ws, "Shelly:CommandResponse")
        samples.append(time.perf_counter() - start)
    answering.cancel()
    return samples


async def throughput(device: ClientConnection, ws: ClientConnection, burst: int) -> float:
    """Status frames pushed back to back; events/s as the integrator receives them."""

    async def push() -> None:
        for i in range(burst):
            await device.send(json.dumps({"type": "status", "status": {"n": i}}))

    start = time.perf_counter()
    pusher = asyncio.create_task(push())
    async with asyncio.timeout(WAIT * 6):
        for _ in range(burst):
            await next_event(ws, "Shelly:StatusOnChange")
    await pusher
    return burst / (time.perf_counter() - start)


async def run(cloud: FakeCloud, rounds: int, burst: int) -> None:
    ssl = cloud.client_ssl_context()
    token = cloud.control.integrator_token("ITG_BENCH")
    server = cloud.server_names[0]
    async with (
        connect(cloud.ws_url(token, server), ssl=ssl, compression=None) as ws,
        connect(cloud.link_url(HEXID, server), ssl=ssl, compression=None) as device,
    ):
        hello = {
            "type": "hello",
            "id": HEXID,
            "code": "SHSW-1",
            "gen": 1,
            "status": {"relays": [{}]},
        }
        await device.send(json.dumps(hello))
        await next_event(ws, "Shelly:StatusOnChange")
        report("device link status → StatusOnChange", await link_latency(device, ws, rounds))
        report("control-plane set_status → StatusOnChange", await api_latency(cloud, ws, rounds))
        report("CommandRequest → CommandResponse", await command_rtt(device, ws, rounds))
        rate = await throughput(device, ws, burst)
        print(f"{'events/s to one integrator socket':<44} n={burst:<6} {rate:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--no-recorder", action="store_true")
    args = parser.parse_args()
    with FakeCloud(CloudConfig()) as cloud:
        cloud.services.recorder.enabled = not args.no_recorder
        user = cloud.control.create_user("bench@example.com", "pw")
        cloud.control.create_device("SHSW-1", user.id, HEXID, online=False)
        cloud.control.create_integrator("ITG_BENCH", "t")
        # Grant directly: the consent callback path is not what is measured here.
        cloud.backend.put_grant(Grant("ITG_BENCH", HEXID, user.id, "01", "http://unused/"))
        print(f"fake cloud over TLS, recorder {'off' if args.no_recorder else 'on'}")
        asyncio.run(run(cloud, args.rounds, args.burst))


if __name__ == "__main__":
    main()
