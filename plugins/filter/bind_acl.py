# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter bind_acl_open: the elements of a BIND address match list that let everyone in.

Its documentation is in bind_acl_open.yml next to this file.

named reads ACL names without regard to case (ANY is any) and a prefix length as a number
(::/00 is ::/0), so the comparison has to parse, not match text. The built-in ACL localnets
is every network the host has an address on, the upstream's included: as open as any for a
resolver on a router.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

CATCH_ALL_NAMES = frozenset({"any", "localnets"})


def _lets_everyone_in(element: str) -> bool:
    text = element.strip()
    if text.startswith("!"):
        return False  # a negated element only ever keeps clients out
    if text.lower() in CATCH_ALL_NAMES:
        return True
    _address, slash, length = text.partition("/")
    return bool(slash) and length.isdigit() and int(length) == 0


def bind_acl_open(elements) -> list[str]:
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise AnsibleFilterError(f"bind_acl_open: expected a list of strings, got {elements!r}")
    return [element for element in elements if _lets_everyone_in(element)]


class FilterModule:
    """BIND address match lists."""

    def filters(self):
        return {"bind_acl_open": bind_acl_open}
