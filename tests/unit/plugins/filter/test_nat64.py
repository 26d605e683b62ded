# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters nat64_address and nat64_extract against RFC 6052 section 2.4, and what they refuse."""

from __future__ import annotations

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.nat64 import FilterModule

FILTERS = FilterModule().filters()
nat64_address = FILTERS["nat64_address"]
nat64_extract = FILTERS["nat64_extract"]

# RFC 6052 section 2.4, "Text Representation Examples", verbatim (the table's text forms predate
# RFC 5952); the second column is the RFC 5952 form the filter returns and dig prints.
RFC6052_EXAMPLES = [
    ("2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100::", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33", "2001:db8:122:344::c000:221"),
    # Section 2.1's Well-Known Prefix, as in section 2.4's first example.
    ("64:ff9b::/96", "192.0.2.33", "64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
]


def test_the_table_covers_every_rfc6052_length():
    assert sorted({int(prefix.split("/")[1]) for prefix, *_example in RFC6052_EXAMPLES}) == [
        32,
        40,
        48,
        56,
        64,
        96,
    ]


@pytest.mark.parametrize(("prefix", "ipv4", "rfc_text", "canonical"), RFC6052_EXAMPLES)
def test_embeds_as_in_rfc6052(prefix, ipv4, rfc_text, canonical):
    result = nat64_address(ipv4, prefix)
    assert ipaddress.IPv6Address(result) == ipaddress.IPv6Address(rfc_text)
    assert result == canonical


@pytest.mark.parametrize(("prefix", "ipv4", "rfc_text", "canonical"), RFC6052_EXAMPLES)
def test_extracts_as_in_rfc6052(prefix, ipv4, rfc_text, canonical):
    assert nat64_extract(rfc_text, prefix) == ipv4
    assert nat64_extract(canonical, prefix) == ipv4


@pytest.mark.parametrize("prefix", [row[0] for row in RFC6052_EXAMPLES])
@pytest.mark.parametrize("ipv4", ["0.0.0.0", "255.255.255.255", "192.0.0.170", "198.51.100.10", "10.1.2.3"])
def test_round_trip_keeps_bits_64_to_71_zero(prefix, ipv4):
    result = nat64_address(ipv4, prefix)
    assert ipaddress.IPv6Address(result) in ipaddress.IPv6Network(prefix)
    assert ipaddress.IPv6Address(result).packed[8] == 0
    assert nat64_extract(result, prefix) == ipv4


def test_the_prefix_defaults_to_the_well_known_prefix():
    assert nat64_address("192.0.2.33") == "64:ff9b::c000:221"
    assert nat64_extract("64:ff9b::c000:221") == "192.0.2.33"


def test_rfc8880_ipv4only_arpa_under_a_prefix():
    assert [nat64_address(a, "64:ff9b::/96") for a in ("192.0.0.170", "192.0.0.171")] == [
        "64:ff9b::c000:aa",
        "64:ff9b::c000:ab",
    ]


@pytest.mark.parametrize(
    ("prefix", "suffix", "expected"),
    [
        # /48: the address ends at bit 88, the last 40 bits are the suffix.
        ("2001:db8:164::/48", "::53", "2001:db8:164:c633:64:a00:0:53"),
        ("2001:db8:122:344::/64", "::ff", "2001:db8:122:344:c6:3364:a00:ff"),
        ("2001:db8::/32", "::0:ff:ff:ff", "2001:db8:c633:640a:0:ff:ff:ff"),
    ],
)
def test_suffix_bits_follow_the_address_and_extract_ignores_them(prefix, suffix, expected):
    assert nat64_address("198.51.100.10", prefix, suffix=suffix) == expected
    assert nat64_extract(expected, prefix) == "198.51.100.10"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("192.0.2.33", "not-a-prefix/96"), "prefix 'not-a-prefix/96' is not an IPv6 prefix"),
        (("192.0.2.33", "64:ff9b::"), "is not an IPv6 prefix with a length"),
        (("192.0.2.33", ""), "is not an IPv6 prefix with a length"),
        (("192.0.2.33", 96), "is not an IPv6 prefix with a length"),
        (("192.0.2.33", "192.0.2.0/24"), "prefix '192.0.2.0/24' is IPv4"),
        (("192.0.2.33", "2001:db8::/33"), "length 33 is not an RFC 6052 length (32, 40, 48, 56, 64, 96)"),
        (("192.0.2.33", "2001:db8::/128"), "length 128 is not an RFC 6052 length"),
        (("192.0.2.33", "2001:db8::1/32"), "has bits set after its length: did you mean 2001:db8::/32?"),
        # 0x0100 in the fifth group is bit 71.
        (("192.0.2.33", "2001:db8:122:344:100::/96"), "has bits 64 to 71 set"),
        (("192.0.2.33", "2001:db8:122:344:ff00::/96"), "has bits 64 to 71 set"),
        (("2001:db8::1", "64:ff9b::/96"), "'2001:db8::1' is not an IPv4 address"),
        (("192.0.2.256", "64:ff9b::/96"), "'192.0.2.256' is not an IPv4 address"),
        (("192.0.2.0/24", "64:ff9b::/96"), "'192.0.2.0/24' is not an IPv4 address"),
        # netaddr without INET_PTON reads "10.1" as 10.0.0.1.
        (("10.1", "64:ff9b::/96"), "'10.1' is not an IPv4 address"),
        ((3221225985, "64:ff9b::/96"), "3221225985 is not an IPv4 address"),
        ((None, "64:ff9b::/96"), "None is not an IPv4 address"),
    ],
)
def test_nat64_address_refuses(args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        nat64_address(*args)
    assert str(raised.value).startswith("nat64_address: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("prefix", "suffix", "message"),
    [
        # A /96 leaves no bits for a suffix.
        ("64:ff9b::/96", "::1", "suffix '::1' overlaps the prefix and IPv4 address of 64:ff9b::/96"),
        # Bit 87, the IPv4 address's last bit under a /48.
        ("2001:db8:164::/48", "::100:0:0", "only its last 40 bits may be set"),
        # Bits 72 to 79, the IPv4 address's first octet under a /64.
        ("2001:db8:122:344::/64", "::c0:0:0:0", "only its last 24 bits may be set"),
        ("2001:db8:164::/48", "not-an-address", "'not-an-address' is not an IPv6 address"),
    ],
)
def test_nat64_address_refuses_an_overlapping_suffix(prefix, suffix, message):
    with pytest.raises(AnsibleFilterError) as raised:
        nat64_address("198.51.100.10", prefix, suffix=suffix)
    assert str(raised.value).startswith("nat64_address: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2001:db8:c000:221::", "2001:db8::/33"), "length 33 is not an RFC 6052 length"),
        (("2001:db8:122:344::c000:221", "2001:db8:122:344:100::/96"), "has bits 64 to 71 set"),
        (("64:ff9b::c000:221", "bad"), "is not an IPv6 prefix with a length"),
        (("192.0.2.33", "64:ff9b::/96"), "'192.0.2.33' is not an IPv6 address"),
        (
            ("2001:db8::c000:221", "64:ff9b::/96"),
            "'2001:db8::c000:221' is not inside the prefix 64:ff9b::/96",
        ),
        # /64: the u octet is the ninth byte; a real RFC 6052 address never sets it.
        (("2001:db8:122:344:ffc0:2:2100:0", "2001:db8:122:344::/64"), "has bits 64 to 71 set"),
    ],
)
def test_nat64_extract_refuses(args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        nat64_extract(*args)
    assert str(raised.value).startswith("nat64_extract: ")
    assert message in str(raised.value)
