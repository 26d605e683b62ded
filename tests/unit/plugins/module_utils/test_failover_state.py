# SPDX-License-Identifier: GPL-3.0-or-later
"""The replicated session state: model, messages, checksums, corruption and staleness."""

from __future__ import annotations

import json

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._failover.state import (
    SCHEMA,
    VERSION,
    CorruptStateError,
    FailoverStateError,
    LagMeter,
    ReplicatedSession,
    Snapshot,
    StaleStateError,
    StoredState,
    decode_snapshot,
    decode_stored,
    encode,
    encode_snapshot,
    encode_stored,
    session_from_fields,
)

KEY = b"lab-key"


def session(n: int = 1, **changes) -> ReplicatedSession:
    fields = {
        "session_id": n,
        "client_mac": f"02:00:00:00:c0:{n:02x}",
        "ac_mac": "02:00:00:00:0b:01",
        "interface": "access",
        "origin": "accel-ppp",
        "since": 1_700_000_000.0 + n,
        "ifname": f"ppp{n - 1}",
        "username": f"user{n}",
        "ipv4": f"100.64.0.{10 + n}",
        "gateway": "100.64.0.1",
        "ipv6_prefix": f"2001:db8:110:{n:x}::/64",
        "ipv6_delegated": f"2001:db8:120:{n:x}00::/56",
        "ipv6_local_ll": "fe80::1",
        "ipv6_peer_ll": "fe80::2",
        "mtu": 1492,
    }
    fields.update(changes)
    return session_from_fields(**fields)


def snapshot(count: int = 3, sequence: int = 7, created: float = 1_700_000_100.0) -> Snapshot:
    return Snapshot(
        "bng1", "boot-a", sequence, created, tuple(session(n) for n in range(1, count + 1)), created - 1
    )


def test_session_round_trip_and_normalised_macs():
    s = session(3, client_mac="02-00-00-00-C0-03", ac_mac="0200.0000.0b01")
    assert s.client_mac == "02:00:00:00:c0:03"
    assert s.ac_mac == "02:00:00:00:0b:01"
    assert s.key == (3, "02:00:00:00:c0:03", "02:00:00:00:0b:01")
    assert ReplicatedSession.from_dict(s.as_dict()) == s
    assert s.name == "sid 3 02:00:00:00:c0:03 (user3)"


def test_session_with_only_the_required_fields():
    s = ReplicatedSession.from_dict(
        {
            "session_id": 9,
            "client_mac": "02:00:00:00:c0:09",
            "ac_mac": "02:00:00:00:0b:02",
            "interface": "eth0",
            "origin": "rp-pppoe",
            "since": 0,
        }
    )
    assert (s.ipv4, s.username, s.mtu) == (None, None, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"session_id": 0}, "session_id must be an integer from 1 to 65534, got 0"),
        ({"session_id": 65535}, "session_id must be an integer from 1 to 65534, got 65535"),
        ({"session_id": True}, "session_id must be an integer"),
        ({"client_mac": "02:00:00:00:c0"}, "client_mac is not a MAC address"),
        ({"ac_mac": "ff:ff:ff:ff:ff:ff"}, "ac_mac must be a unicast MAC address"),
        ({"interface": "eth0/1"}, "interface is not a Linux interface name: 'eth0/1'"),
        ({"interface": "a-very-long-interface"}, "interface is not a Linux interface name"),
        ({"origin": "radius"}, "origin must be one of accel-ppp, rp-pppoe, adopted, got 'radius'"),
        ({"ipv4": "100.64.0.300"}, "ipv4 must be an IPv4 address or null, got '100.64.0.300'"),
        ({"ipv4": "2001:db8::1"}, "ipv4 must be an IPv4 address"),
        ({"gateway": 5}, "gateway must be an IPv4 address"),
        ({"ipv6_prefix": "2001:db8:110:1::1/64"}, "ipv6_prefix must be an IPv6 prefix"),
        ({"ipv6_local_ll": "2001:db8::1"}, "ipv6_local_ll must be an IPv6 link-local address"),
        ({"username": "user 1"}, "username must not contain blanks or control characters, got 'user 1'"),
        ({"username": "user1\nshow stat"}, "username must not contain blanks or control characters"),
        ({"mtu": 100}, "mtu must be an integer from 576 to 65535, got 100"),
        ({"since": float("nan")}, "since must be a number"),
        ({"since": -1}, "since must be at least 0"),
    ],
)
def test_bad_session_fields_are_refused_naming_field_and_value(changes, message):
    with pytest.raises(CorruptStateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        session(1, **changes)


def test_unknown_and_missing_session_fields():
    data = session(1).as_dict()
    with pytest.raises(CorruptStateError, match=r"unknown session fields \['colour'\]"):
        ReplicatedSession.from_dict({**data, "colour": "red"})
    del data["ac_mac"]
    with pytest.raises(CorruptStateError, match=r"missing session fields \['ac_mac'\]"):
        ReplicatedSession.from_dict(data)
    with pytest.raises(CorruptStateError, match="a session must be an object, got list"):
        ReplicatedSession.from_dict([1, 2])


def test_snapshot_round_trip_plain_and_signed():
    snap = snapshot()
    for key in (None, KEY):
        data = encode_snapshot(snap, key)
        assert decode_snapshot(data, key) == snap
    payload = json.loads(encode_snapshot(snap))
    assert payload["schema"] == SCHEMA
    assert payload["version"] == VERSION
    assert payload["checksum"].startswith("sha256:")
    assert json.loads(encode_snapshot(snap, KEY))["checksum"].startswith("hmac-sha256:")


def test_any_changed_byte_of_the_content_is_detected():
    data = encode_snapshot(snapshot())
    tampered = data.replace(b"100.64.0.12", b"100.64.0.99")
    assert tampered != data
    with pytest.raises(CorruptStateError, match="checksum \\(the data changed\\) does not match"):
        decode_snapshot(tampered)


def test_a_wrong_or_missing_key_is_refused():
    signed = encode_snapshot(snapshot(), KEY)
    with pytest.raises(CorruptStateError, match="wrong key, or the data changed"):
        decode_snapshot(signed, b"other-key")
    with pytest.raises(CorruptStateError, match="the sender has a replication key and this agent has none"):
        decode_snapshot(signed, None)
    with pytest.raises(CorruptStateError, match="a replication key is set: the sender has no key"):
        decode_snapshot(encode_snapshot(snapshot()), KEY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "state: empty"),
        (b"\xff\xfe", "state: not UTF-8 text"),
        (b"{not json", "state: not JSON"),
        (b"[1, 2]", "state: not a JSON object but list"),
        (b'{"schema": "other", "version": 1}', "schema 'other' is not 'isplab.bng.failover'"),
        (b'{"schema": "isplab.bng.failover", "version": 2}', "format version 2, this agent reads version 1"),
        (b'{"schema": "isplab.bng.failover", "version": 1, "type": "state"}', "state: no checksum"),
    ],
)
def test_corrupt_messages_are_refused_with_a_message(data, message):
    with pytest.raises(CorruptStateError, match=message):
        decode_snapshot(data)


def test_a_truncated_message_is_refused():
    data = encode_snapshot(snapshot(20))
    with pytest.raises(CorruptStateError, match="not JSON"):
        decode_snapshot(data[: len(data) // 2])


def test_well_signed_but_invalid_content_is_refused_by_field():
    message = snapshot().message()
    message["sessions"][1]["client_mac"] = "not-a-mac"
    with pytest.raises(CorruptStateError, match="state: session 2: client_mac is not a MAC address"):
        decode_snapshot(encode(message))
    message = snapshot().message()
    message["sessions"].append(dict(message["sessions"][0]))
    with pytest.raises(CorruptStateError, match="session 4 repeats session 1"):
        decode_snapshot(encode(message))
    message = snapshot().message()
    message["sequence"] = -1
    with pytest.raises(CorruptStateError, match="sequence must be an integer from 0"):
        decode_snapshot(encode(message))
    message = snapshot().message()
    message["instance"] = "bad name"
    with pytest.raises(CorruptStateError, match="instance must be an instance name"):
        decode_snapshot(encode(message))


def test_encode_refuses_unknown_types_and_nan():
    with pytest.raises(FailoverStateError, match="unknown message type"):
        encode({"type": "gossip"})
    with pytest.raises(FailoverStateError, match="cannot serialise"):
        encode({"type": "ack", "received": float("nan")})


def test_newer_than_orders_by_boot_and_sequence():
    old = snapshot(sequence=5)
    assert snapshot(sequence=6).newer_than(old)
    assert not snapshot(sequence=5).newer_than(old)
    assert not snapshot(sequence=4).newer_than(old)
    restarted = Snapshot("bng1", "boot-b", 1, 1.0)
    assert restarted.newer_than(old)
    assert restarted.newer_than(None)


def test_freshness_is_judged_on_the_receivers_clock():
    stored = StoredState(snapshot(created=1000.0), received=1000.5)
    stored.check_fresh(now=1005.0, max_age=10)
    with pytest.raises(StaleStateError, match=r"is 15\.5 s old, more than the 10 s allowed"):
        stored.check_fresh(now=1016.0, max_age=10)
    assert stored.age(900.0) == 0.0


def test_a_replay_or_a_clock_out_of_step_is_stale():
    stored = StoredState(snapshot(created=1000.0), received=1100.0)
    stored.check_fresh(now=1100.0, max_age=10)
    with pytest.raises(StaleStateError, match=r"100\.0 s apart, more than the 60 s allowed"):
        stored.check_fresh(now=1100.0, max_age=10, max_skew=60)


def test_stored_state_round_trip_and_corruption():
    stored = StoredState(snapshot(), received=1_700_000_100.5)
    data = encode_stored(stored, KEY)
    assert decode_stored(data, KEY) == stored
    with pytest.raises(
        CorruptStateError, match=r"state file: HMAC \(wrong key, or the data changed\) does not match"
    ):
        decode_stored(data.replace(b"user2", b"user9"), KEY)
    with pytest.raises(CorruptStateError, match="not a stored state"):
        decode_stored(encode_snapshot(snapshot(), KEY), KEY)
    with pytest.raises(CorruptStateError, match="received must be a number"):
        decode_stored(encode({"type": "stored-state", "received": "soon", "state": snapshot().message()}))


def test_lag_meter():
    meter = LagMeter(window=3)
    assert meter.summary() == {
        "samples": 0,
        "last_ms": None,
        "worst_ms": None,
        "mean_ms": None,
        "p95_recent_ms": None,
    }
    for lag in (0.010, 0.030, 0.020, 0.005, -1):
        meter.add(lag)
    summary = meter.summary()
    assert summary["samples"] == 5
    assert summary["last_ms"] == 0.0
    assert summary["worst_ms"] == 30.0
    assert summary["mean_ms"] == 13.0
    assert len(meter.recent) == 3
