# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter pppoe_subscribers: the shared checks, turned into Ansible filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.pppoe_subscribers import FilterModule


def test_registered_and_expands():
    pppoe_subscribers = FilterModule().filters()["pppoe_subscribers"]
    subs = pppoe_subscribers(
        {"count": 2, "name": "c{n}", "user": "u{n}", "password": "p{n}", "mac": "02:00:00:00:00:01"}
    )
    assert [s["name"] for s in subs] == ["c1", "c2"]


def test_errors_name_the_variable_and_hide_passwords():
    pppoe_subscribers = FilterModule().filters()["pppoe_subscribers"]
    with pytest.raises(AnsibleFilterError) as caught:
        pppoe_subscribers([{"name": "c1", "user": "u", "password": "top secret", "mac": "x"}], "my_subs")
    message = str(caught.value)
    assert "2 error(s)" in message
    assert "my_subs[0].mac: 'x' is not a MAC address" in message
    assert "my_subs[0].password" in message and "top secret" not in message
