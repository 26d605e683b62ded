# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter pppoe_subscribers: subscriber patterns expanded and every subscriber checked.

Its documentation is in pppoe_subscribers.yml next to this file; the logic is shared with the
benchmark in plugins/module_utils/_pppoe_subscribers.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.isplab.bng.plugins.module_utils._pppoe_subscribers import (
    SubscriberError,
    check_subscribers,
)


def pppoe_subscribers(data, field: str = "subscribers") -> list[dict]:
    try:
        return check_subscribers(data, field)
    except SubscriberError as exc:
        raise AnsibleFilterError(
            f"pppoe_subscribers: {len(exc.errors)} error(s): " + "; ".join(exc.errors)
        ) from None


class FilterModule:
    """PPPoE subscribers as data."""

    def filters(self):
        return {"pppoe_subscribers": pppoe_subscribers}
