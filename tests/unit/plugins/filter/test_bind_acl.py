# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter bind_acl_open (its use by the role: tests/unit/roles/test_bind_dns64_validate.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.filter.bind_acl import FilterModule

bind_acl_open = FilterModule().filters()["bind_acl_open"]


def test_returns_the_catch_alls_in_order():
    elements = ["2001:db8:110::/48", "ANY", "!any", "::/00", "10.0.0.0/8", "LocalNets", "0/0", "localhost"]
    assert bind_acl_open(elements) == ["ANY", "::/00", "LocalNets", "0/0"]


@pytest.mark.parametrize("value", ["any", [1], None])
def test_refuses_what_is_not_a_list_of_strings(value):
    with pytest.raises(AnsibleFilterError, match="expected a list of strings"):
        bind_acl_open(value)
