"""The device link's `account`: the hello names the owner, as pairing in the app does, and the
cloud registers (or moves) the device to that account; an unknown account or one living on
another server is refused with the reason (fake_cloud/api/link.py)."""

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT, wait_online


def hello(hexid: str, account: str | None) -> str:
    frame = {"type": "hello", "id": hexid, "code": "SHPLG-S", "gen": 1,
             "status": {"relays": [{"ison": False}]}}  # fmt: skip
    return json.dumps(frame if account is None else {**frame, "account": account})


@pytest.fixture
def link(cloud):
    opened = []

    def open_link(hexid: str, account: str | None, server: str = SERVER_A):
        conn = connect(cloud.link_url(hexid, server), ssl=cloud.client_ssl_context(), legacy=True)
        conn.send(hello(hexid, account))
        opened.append(conn)
        return conn

    yield open_link
    for conn in opened:
        conn.close()


def test_the_hello_account_owns_the_device(cloud, link):
    first = cloud.control.create_user("first@example.com", "pw", SERVER_A)
    alice = cloud.control.create_user("alice@example.com", "pw", SERVER_A)
    link("a1a1a1", "alice@example.com")
    link("b1b1b1", None)
    wait_online(cloud, "a1a1a1")
    wait_online(cloud, "b1b1b1")
    assert cloud.backend.device("a1a1a1").owner == alice.id
    assert cloud.backend.device("b1b1b1").owner == first.id  # no account: the server's first


def test_a_known_device_moves_to_the_account_it_names(cloud, link):
    first = cloud.control.create_user("first@example.com", "pw", SERVER_A)
    alice = cloud.control.create_user("alice@example.com", "pw", SERVER_A)
    cloud.control.create_device("SHPLG-S", first.id, "c1c1c1", online=False, virtual=False)
    link("c1c1c1", "alice@example.com")
    wait_online(cloud, "c1c1c1")
    assert cloud.backend.device("c1c1c1").owner == alice.id


@pytest.mark.parametrize(
    ("account", "code", "reason"),
    [
        ("nobody@example.com", 4404, "no account nobody@example.com"),
        ("bob@example.com", 4421, "account bob@example.com lives on {host}"),
    ],
)
def test_a_link_for_an_account_it_cannot_join_is_refused(cloud, link, account, code, reason):
    cloud.control.create_user("bob@example.com", "pw", SERVER_B)
    conn = link("d1d1d1", account)
    with pytest.raises(ConnectionClosed) as closed:
        conn.recv(timeout=TIMEOUT)
    host = cloud.backend.server(SERVER_B).host
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (code, reason.format(host=host))
    assert "d1d1d1" not in cloud.backend.devices
    assert cloud.control.records("link_refused")[-1]["device"] == "d1d1d1"
