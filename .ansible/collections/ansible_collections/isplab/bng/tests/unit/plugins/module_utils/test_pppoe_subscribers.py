# SPDX-License-Identifier: GPL-3.0-or-later
"""Subscriber patterns and the checks of subscriber data (shared by the PPPoE roles)."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_subscribers import (
    SubscriberError,
    check_subscribers,
    expand_pattern,
)

LAB = {
    "count": 10,
    "name": "cpe{n}",
    "user": "user{n}",
    "password": "pass{n}",
    "mac": "02:00:00:00:c0:01",
    "ipv4": "100.64.0.11",
    "ipv6": "2001:db8:110:1::/64",
}


def errors_of(data) -> list[str]:
    with pytest.raises(SubscriberError) as caught:
        check_subscribers(data, "subs")
    return caught.value.errors


def test_the_lab_pattern():
    subs = check_subscribers([LAB])
    assert len(subs) == 10
    assert subs[0] == {
        "name": "cpe1",
        "user": "user1",
        "password": "pass1",
        "mac": "02:00:00:00:c0:01",
        "ipv4": "100.64.0.11",
        "ipv6": "2001:db8:110:1::/64",
        "ipv6_address": "2001:db8:110:1::1/64",
        "state": "present",
    }
    assert subs[-1]["name"] == "cpe10"
    assert subs[-1]["mac"] == "02:00:00:00:c0:0a"
    assert subs[-1]["ipv4"] == "100.64.0.20"
    assert subs[-1]["ipv6"] == "2001:db8:110:a::/64"


def test_ipv6_prefixes_count_up_by_their_size():
    subs = check_subscribers([dict(LAB, count=3, ipv6="2001:db8:110:ff00::/56")])
    expected = ["2001:db8:110:ff00::/56", "2001:db8:111::/56", "2001:db8:111:100::/56"]
    assert [s["ipv6"] for s in subs] == expected
    assert subs[1]["ipv6_address"] == "2001:db8:111::1/56"
    single = check_subscribers([dict(LAB, count=1, ipv6="2001:db8:110::7/128")])
    assert single[0]["ipv6_address"] == "2001:db8:110::7/128"


def test_a_single_pattern_is_taken_as_a_list():
    assert check_subscribers(LAB) == check_subscribers([LAB])


def test_two_hundred_count_past_octet_boundaries():
    subs = check_subscribers([dict(LAB, count=300, mac="02:00:00:00:c0:ff", ipv4="100.64.0.250")])
    assert len(subs) == 300
    assert subs[1]["mac"] == "02:00:00:00:c1:00"
    assert subs[6]["ipv4"] == "100.64.1.0"
    assert len({s["mac"] for s in subs}) == 300


def test_format_specs_and_start():
    pattern = dict(LAB, count=2, start=9, name="cpe{n:03d}", mac="02:00:00:00:c0:{n:02x}", ipv4=None)
    subs = check_subscribers([pattern])
    assert [s["name"] for s in subs] == ["cpe009", "cpe010"]
    assert [s["mac"] for s in subs] == ["02:00:00:00:c0:09", "02:00:00:00:c0:0a"]
    assert subs[0]["ipv4"] is None


def test_count_zero_and_none():
    assert check_subscribers([dict(LAB, count=0)]) == []
    assert check_subscribers(None) == []


def test_patterns_and_single_subscribers_mix():
    one = {"name": "office", "user": "office@isp", "password": "s3cret", "mac": "02-00-00-00-D1-01"}
    subs = check_subscribers(
        [dict(LAB, count=2), one, dict(one, name="gone", user="g", mac="02:00:00:00:d1:02", state="absent")]
    )
    assert [s["name"] for s in subs] == ["cpe1", "cpe2", "office", "gone"]
    assert subs[2]["mac"] == "02:00:00:00:d1:01"
    assert subs[3]["state"] == "absent"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"mac": "02:00:00:00:c0"}, "subs[0].mac: '02:00:00:00:c0' is not a MAC address"),
        ({"mac": "01:00:5e:00:00:01"}, "group (multicast)"),
        ({"name": "a-very-long-name{n}"}, "is 17 bytes, the kernel allows 15"),
        ({"name": "cpe/{n}"}, "is not a namespace name"),
        ({"user": "user {n}"}, "subs[0] (n=1).user: 'user 1' contains ' '"),
        ({"user": "user{n}\nexit"}, "contains '\\n'"),
        ({"ipv4": "100.64.0.300"}, "is not an IPv4 address"),
        ({"ipv4": "224.0.0.1"}, "cannot be a subscriber's address"),
        ({"ipv6": "2001:db8:110:1::1/64"}, "subs[0].ipv6: '2001:db8:110:1::1/64' is not an IPv6 prefix"),
        ({"ipv6": "2001:db8::/32"}, "must be a /48 to /128 prefix"),
        ({"ipv6": "fe80::/64"}, "is not a global unicast prefix"),
        ({"ipv6": "100.64.0.0/24"}, "is not an IPv6 prefix"),
        ({"state": "gone"}, "'gone' is not one of present, absent"),
        ({"colour": "blue"}, "unknown key(s) colour"),
        ({"count": -1}, "subs[0].count: must be an integer from 0"),
        ({"name": "cpe{m}"}, "may only use the field n"),
        ({"name": "cpe{n.real}"}, "may only use the field n"),
        ({"name": "cpe{n"}, "is not a format string"),
    ],
)
def test_bad_values_are_named(change, expected):
    errors = errors_of([{**LAB, "count": 1, **change}])
    assert any(expected in error for error in errors), errors


def test_a_password_is_never_shown():
    for password in ["pass word", 'pa"ss', "x#y", "new\nline", "", None, 42]:
        errors = errors_of([{"name": "cpe1", "user": "u", "password": password, "mac": "02:00:00:00:c0:01"}])
        assert len(errors) == 1 and errors[0].startswith("subs[0].password:")
        if isinstance(password, str) and password:
            assert password not in errors[0]
            assert "(value not shown)" in errors[0]


def test_every_error_is_reported_at_once():
    errors = errors_of([{"name": "x" * 20, "user": "a b", "password": "p", "mac": "nope"}, "not a mapping"])
    assert len(errors) == 4


def test_duplicate_names_macs_users_and_addresses():
    a = {
        "name": "a",
        "user": "ua",
        "password": "p",
        "mac": "02:00:00:00:00:01",
        "ipv4": "100.64.0.2",
        "ipv6": "2001:db8:110::/64",
    }
    b = dict(a)
    errors = errors_of([a, b])
    assert [e.split(":")[0] for e in errors] == [
        "subs[1].name",
        "subs[1].user",
        "subs[1].mac",
        "subs[1].ipv4",
        "subs[1].ipv6",
    ]


def test_counting_past_the_end_is_refused():
    errors = errors_of([dict(LAB, count=2, mac="fe:ff:ff:ff:ff:ff")])
    assert errors == [
        "subs[0] (n=2).mac: 'ff:00:00:00:00:00' is a group (multicast) address; an interface needs unicast"
    ]
    with pytest.raises(SubscriberError, match="runs past"):
        expand_pattern(dict(LAB, count=2, ipv4="255.255.255.255"), "p")


def test_not_a_list():
    assert errors_of("cpe1") == ["subs: must be a list of subscribers or patterns, got str"]


def test_the_expanded_list_goes_back_in_unchanged():
    subs = check_subscribers([LAB])
    marked = [*subs[:-1], dict(subs[-1], state="absent")]
    assert check_subscribers(marked) == marked


def test_a_derived_ipv6_address_that_disagrees_is_refused():
    subs = check_subscribers([dict(LAB, count=1)])
    errors = errors_of([dict(subs[0], ipv6_address="2001:db8:110:1::99/64")])
    assert errors == [
        "subs[0].ipv6_address: '2001:db8:110:1::99/64' is derived from ipv6 and must not be set"
        " otherwise (from ipv6 '2001:db8:110:1::/64' it is '2001:db8:110:1::1/64')"
    ]
