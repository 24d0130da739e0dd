"""A client on the other side of the link, run inside the client's network namespace by
test_network_namespaces.py: what Home Assistant (aioshelly + zeroconf) and node-shellies
(multicast GET /cit/s) would see of a device there. Prints one JSON object and exits.

Usage: python lan_client.py DEVICE_IP CLIENT_IP HOSTNAME_PREFIX
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from ipaddress import IPv4Address
from typing import Any

import aiohttp
from aiocoap import NON, Message
from aiocoap.numbers.codes import Code
from aioshelly.block_device.coap import COAP
from aioshelly.block_device.device import BlockDevice, BlockUpdateType
from aioshelly.common import ConnectionOptions, get_info
from zeroconf import DNSPointer, DNSService, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

GROUP, PORT, SERVICE = "224.0.1.187", 5683, "_http._tcp.local."
#: Seconds each step may take before it is reported as "timed out".
DEADLINE = 10.0


async def browse(client_ip: str, prefix: str) -> dict[str, Any]:
    """mDNS: every _http._tcp instance heard, the device's records and their TTLs."""
    zc = AsyncZeroconf(interfaces=[client_ip])
    seen: list[str] = []
    found: asyncio.Queue[str] = asyncio.Queue()

    def changed(zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        if state_change is ServiceStateChange.Added:
            seen.append(name)
            if name.startswith(prefix):
                found.put_nowait(name)

    browser = AsyncServiceBrowser(zc.zeroconf, SERVICE, handlers=[changed])
    try:
        name = await found.get()
        info = AsyncServiceInfo(SERVICE, name)
        await info.async_request(zc.zeroconf, 3000)
        await asyncio.sleep(1.0)  # other instances, if any leaked onto this link
        ttls = {}
        for records in zc.zeroconf.cache.cache.values():
            for record in records:
                if isinstance(record, DNSPointer) and record.alias == name:
                    ttls["PTR"] = record.ttl
                elif record.name == name and isinstance(record, DNSService):
                    ttls["SRV"] = record.ttl
                elif record.name == name and type(record).__name__ == "DNSText":
                    ttls["TXT"] = record.ttl
                elif record.name == info.server and type(record).__name__ == "DNSAddress":
                    ttls["A"] = record.ttl
        return {
            "name": name,
            "addresses": info.parsed_addresses(),
            "port": info.port,
            "txt": {k.decode(): (v or b"").decode() for k, v in info.properties.items()},
            "ttls": ttls,
            "instances": sorted(seen),
        }
    finally:
        await browser.async_cancel()
        await zc.async_close()


async def multicast_get(client_ip: str, device_ip: str) -> dict[str, Any]:
    """node-shellies' discovery: a multicast GET /cit/s; the device answers by unicast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(client_ip))
    sock.bind((client_ip, 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    request = Message(mtype=NON, code=Code.GET, mid=0x0A, uri_path=("cit", "s"))
    try:
        await loop.sock_sendto(sock, request.encode(), (GROUP, PORT))
        while True:
            data, source = await loop.sock_recvfrom(sock, 4096)
            if source[0] == device_ip:
                reply = Message.decode(data)
                return {"from": list(source), "code": int(reply.code), "has_G": b'"G"' in data}
    finally:
        sock.close()


async def group_listener(client_ip: str, device_ip: str, heard: asyncio.Future[list]) -> None:
    """A socket bound to the group address: it gets only datagrams sent to 224.0.1.187."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, PORT))
    mreq = socket.inet_aton(GROUP) + socket.inet_aton(client_ip)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        while not heard.done():
            data, source = await loop.sock_recvfrom(sock, 4096)
            if source[0] == device_ip and len(data) > 1 and data[1] == 30:  # CoIoT publish
                heard.set_result(list(source))
    finally:
        sock.close()


async def home_assistant(
    client_ip: str, device_ip: str, published: asyncio.Future[list]
) -> dict[str, Any]:
    """aioshelly as HA runs it: COAP on 5683 joined on the host's address, initialize, switch
    the relay over HTTP, wait for the CoIoT publish that shows it."""
    coap = COAP()
    await coap.initialize(PORT, [IPv4Address(client_ip)])
    try:
        async with aiohttp.ClientSession() as session:
            info = await get_info(session, device_ip)
            device = await BlockDevice.create(
                session, coap, ConnectionOptions(device_ip, device_mac=info["mac"])
            )
            updates: asyncio.Queue[BlockUpdateType] = asyncio.Queue()
            device.subscribe_updates(lambda _device, kind: updates.put_nowait(kind))
            await device.initialize()
            relay = next(b for b in device.blocks if b.description == "relay_0")
            before = relay.output
            await relay.set_state(turn="off" if before else "on")
            while not (
                await updates.get() is BlockUpdateType.COAP_PERIODIC and relay.output != before
            ):
                pass
            result = {
                "initialized": device.initialized,
                "model": device.model,
                "relay_before": before,
                "relay_pushed": relay.output,
                "group_publish_from": await published,
            }
            await device.shutdown()
            return result
    finally:
        coap.close()


async def main(device_ip: str, client_ip: str, prefix: str) -> dict[str, Any]:
    """Each step's findings, or "timed out" for a step that heard nothing in time."""
    published: asyncio.Future[list] = asyncio.get_running_loop().create_future()
    listener = asyncio.create_task(group_listener(client_ip, device_ip, published))
    steps = {
        "mdns": lambda: browse(client_ip, prefix),
        "coiot_discovery": lambda: multicast_get(client_ip, device_ip),
        "aioshelly": lambda: home_assistant(client_ip, device_ip, published),
    }
    seen: dict[str, Any] = {}
    try:
        for name, step in steps.items():
            try:
                async with asyncio.timeout(DEADLINE):
                    seen[name] = await step()
            except TimeoutError:
                seen[name] = "timed out"
    finally:
        listener.cancel()
    return seen


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(*sys.argv[1:4]))) + "\n")
