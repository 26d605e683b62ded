# SPDX-License-Identifier: GPL-3.0-or-later
"""The standby's replication listener as an attacker meets it: a key is required, only the peer
may connect, a replayed message is refused (by its counter, not only by the clock), and idle,
surplus or oversized unauthenticated connections are closed. Real sockets on the loopback
network (127.0.0.0/8: the test binds 127.0.0.2 as the peer and 127.0.0.3 as a stranger)."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._failover.agent import Agent
from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError, config_from_dict
from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    Snapshot,
    decode,
    encode,
    session_from_fields,
)
from ansible_collections.isplab.bng.plugins.module_utils._failover.wire import PeerLink

KEY = "a-replication-key-for-tests"
PEER = "127.0.0.2"
STRANGER = "127.0.0.3"
SETTINGS = {
    "instance": "bng2",
    "server": "accel-ppp",
    "access_interface": "access",
    "core_interface": "core",
    "listen_address": "127.0.0.1",
    "listen_port": 7300,
    "peer_address": PEER,
    "peer_port": 7300,
    "replication_key": KEY,
}


def session(n: int):
    return session_from_fields(
        session_id=n,
        client_mac=f"02:00:00:00:{n // 256:02x}:{n % 256:02x}",
        ac_mac="02:00:00:00:0b:01",
        interface="access",
        origin="accel-ppp",
        since=1000.0,
        username=f"user{n}",
        ipv4=f"100.64.{n // 200}.{1 + n % 200}",
        gateway="100.64.0.1",
    )


@pytest.fixture
def standby(tmp_path):
    agent = Agent(
        config_from_dict(dict(SETTINGS, run_dir=str(tmp_path / "run"), state_dir=str(tmp_path / "state")))
    )
    os.makedirs(agent.config.instance_state_dir)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    agent.listener = listener
    yield agent
    for conn in list(agent.replica.connections):
        agent.replica.close(conn)
    listener.close()
    os.close(agent.wake_read)
    os.close(agent.wake_write)


def connect_from(agent: Agent, source: str) -> socket.socket:
    """A connection from source, accepted by the agent as its event loop would."""
    sock = socket.create_connection(agent.listener.getsockname(), timeout=2, source_address=(source, 0))
    agent.replica.accept(agent.listener, 0)
    return sock


def closed_by_agent(sock: socket.socket) -> bool:
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        sock.recv(1)
    except TimeoutError:
        return True
    except OSError:
        return False
    return False


def message(kind: str, counter: int, created: float, **fields) -> bytes:
    return encode(
        {"type": kind, "boot_id": "boot-a", "counter": counter, "created": created, **fields}, KEY.encode()
    )


def state(sequence: int, counter: int, created: float, sessions=()) -> bytes:
    snapshot = Snapshot("bng1", "boot-a", sequence, created, tuple(sessions), created)
    return encode({**snapshot.message(), "counter": counter}, KEY.encode())


# --- the key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"replication_key": None}, r"missing settings \['replication_key'\]"),
        ({"replication_key": "short"}, r"replication_key must be at least 16 characters.*got \(hidden\)"),
    ],
)
def test_the_agent_refuses_to_run_without_a_real_key(changes, expected):
    with pytest.raises(AgentError, match=expected):
        config_from_dict(dict(SETTINGS, **changes))


# --- freshness: counters, not only the clock ------------------------------------------------------


def test_a_replayed_heartbeat_does_not_refresh_the_state(standby, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("time.time", lambda: clock[0])
    assert standby.replica.handle(state(4, 1, 1000.0, [session(1)])) is not None
    recorded = message("heartbeat", 2, 1005.0, sequence=4)
    clock[0] = 1005.0
    assert decode(standby.replica.handle(recorded), KEY.encode())["need_state"] is False
    assert standby.replica.peer_state.received == 1005.0
    # The active stops; 40 s later (inside the 60 s clock window) the recorded heartbeat comes again.
    clock[0] = 1045.0
    assert standby.replica.handle(recorded) is None
    assert "replayed" in standby.replica.problem
    assert standby.replica.peer_state.received == 1005.0
    # A heartbeat made an hour ago by the sender's clock is refused however it counts.
    assert standby.replica.handle(message("heartbeat", 9, 1045.0 - 3600, sequence=4)) is None
    assert "a replay, or clocks out of step" in standby.replica.problem
    assert standby.replica.peer_state.received == 1005.0


def test_a_replayed_state_of_the_same_start_is_refused(standby, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0)
    recorded = state(1, 1, 1000.0, [session(1)])
    standby.replica.handle(recorded)
    standby.replica.handle(state(2, 2, 1000.0, []))
    assert standby.replica.handle(recorded) is None
    assert standby.replica.peer_state.snapshot.sessions == ()


def test_a_message_from_an_earlier_start_of_the_peer_is_refused(standby, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0)
    old_start = state(7, 30, 1000.0, [session(1)])
    standby.replica.handle(old_start)
    restarted = Snapshot("bng1", "boot-b", 1, 1000.0, (session(2),), 1000.0)
    standby.replica.handle(encode({**restarted.message(), "counter": 1}, KEY.encode()))
    assert standby.replica.handle(old_start) is None
    assert "an earlier start" in standby.replica.problem
    assert standby.replica.peer_state.snapshot.sessions == (session(2),)


def test_a_message_without_a_counter_is_refused(standby, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0)
    snapshot = Snapshot("bng1", "boot-a", 1, 1000.0, (session(1),), 1000.0)
    assert standby.replica.handle(encode(snapshot.message(), KEY.encode())) is None
    assert "counter" in standby.replica.problem
    assert standby.replica.peer_state is None


# --- who may connect, for how long, with how much ----------------------------------------------------


def test_only_the_peer_address_may_connect(standby):
    stranger = connect_from(standby, STRANGER)
    assert closed_by_agent(stranger)
    assert standby.replica.connections == {}
    assert standby.replica.refused_connections == 1
    peer = connect_from(standby, PEER)
    assert len(standby.replica.connections) == 1
    peer.close()
    stranger.close()


def test_an_unauthenticated_connection_may_send_only_a_small_frame(standby):
    peer = connect_from(standby, PEER)
    (conn,) = standby.replica.connections
    peer.sendall(struct.pack("!I", 1024 * 1024) + b"x" * 1000)
    time.sleep(0.1)
    standby.replica.read(conn, 0)
    assert closed_by_agent(peer)
    assert standby.replica.connections == {}
    peer.close()


def test_surplus_and_idle_connections_are_closed(standby, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    socks = []
    for _attempt in range(200):
        clock[0] += 0.001
        socks.append(connect_from(standby, PEER))
    assert len(standby.replica.connections) == 4
    # The newest stay: after a cut, the live connection is the last one the active opened.
    assert all(closed_by_agent(s) for s in socks[:10])
    assert all(still_open(s) for s in socks[-4:])
    clock[0] += 6.0  # longer than an unauthenticated connection may wait
    standby.replica.close_idle(clock[0])
    assert standby.replica.connections == {}
    assert all(closed_by_agent(s) for s in socks[-4:])
    for sock in socks:
        sock.close()


def test_a_flood_from_the_peer_address_does_not_close_the_live_link(standby, monkeypatch):
    """Connections that have proven nothing make room for each other, not for the active's link."""
    clock = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    monkeypatch.setattr("time.time", lambda: 1000.0)
    active = connect_from(standby, PEER)
    (live,) = standby.replica.connections
    hello = encode(
        {"type": "hello", "sequence": 0, "boot_id": "boot-a", "counter": 1, "created": 1000.0}, KEY.encode()
    )
    active.sendall(struct.pack("!I", len(hello)) + hello)
    time.sleep(0.1)
    standby.replica.read(live, 0)
    assert standby.replica.connections[live].authenticated
    flood = []
    for _attempt in range(200):
        clock[0] += 0.001
        flood.append(connect_from(standby, PEER))
    assert live in standby.replica.connections
    assert len(standby.replica.connections) == 4
    assert all(still_open(s) for s in flood[-3:])
    for sock in [active, *flood]:
        sock.close()


def test_the_active_says_hello_and_then_sends_a_large_state(standby, monkeypatch):
    """The whole link on real sockets: PeerLink (the active) to the standby's event handlers."""
    import selectors
    import threading

    standby.config = config_from_dict(
        dict(
            SETTINGS,
            listen_address=PEER,
            peer_address="127.0.0.1",
            run_dir=standby.config.run_dir,
            state_dir=standby.config.state_dir,
        )
    )
    standby.listener.close()
    standby.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    standby.listener.bind(("127.0.0.1", 0))
    standby.listener.listen(8)
    port = standby.listener.getsockname()[1]
    receiving = Agent(
        config_from_dict(dict(SETTINGS, run_dir=standby.config.run_dir, state_dir=standby.config.state_dir))
    )
    receiving.selector.register(standby.listener, selectors.EVENT_READ, receiving.replica.accept)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            for key, mask in receiving.selector.select(0.05):
                key.data(key.fileobj, mask)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        sending = Agent(
            config_from_dict(
                dict(
                    SETTINGS,
                    listen_address=PEER,
                    peer_address="127.0.0.1",
                    peer_port=port,
                    run_dir=standby.config.run_dir,
                    state_dir=standby.config.state_dir,
                )
            )
        )
        link = PeerLink(sending.config, sending.replicator.sign)
        sessions = tuple(session(n) for n in range(1, 501))  # far more than an unauthenticated frame
        snapshot = Snapshot("bng1", sending.boot_id, 1, time.time(), sessions, time.time())
        assert link.send(snapshot.message(), 1) is not None
        assert (
            receiving.replica.peer_state is not None
            and len(receiving.replica.peer_state.snapshot.sessions) == 500
        )
        link.close()
    finally:
        stop.set()
        thread.join(2)
        for conn in list(receiving.replica.connections):
            receiving.replica.close(conn)
        os.close(receiving.wake_read)
        os.close(receiving.wake_write)
