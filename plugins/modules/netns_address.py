#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 addresses of an interface in a network namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns_address
short_description: Manage the IPv4 and IPv6 addresses of an interface in a network namespace
version_added: 0.1.0
description:
  - Adds or removes addresses (with prefix length) on one interface in a network namespace
    (or in the host's root namespace) through netlink (pyroute2).
  - With O(exclusive=true) the interface ends up with exactly the addresses listed; others are
    removed, except those the kernel makes itself (IPv6 link-local, and loopback on C(lo)).
  - Every address is checked before anything changes; one that is not an address (C(10.1/8),
    C(2001:db8::1) without a prefix length, a multicast address) fails the module.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.netns
  - ansible.builtin.action_common_attributes
options:
  namespace:
    description: The network namespace; omit it for the host's root namespace.
    type: str
  dev:
    description: The interface; it must exist (see M(isplab.bng.netns_link)).
    type: str
    required: true
  addresses:
    description:
      - Addresses with prefix length, IPv4 or IPv6, for example V(2001:db8:100:1::11/64) or
        V(198.51.100.10/32).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds the addresses that are missing; V(absent) removes those that are there.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also remove every other address of the interface (IPv6
        link-local and loopback addresses excepted).
    type: bool
    default: false
attributes:
  diff_mode:
    support: full
    details: Shows the interface's addresses (link-local and loopback ones left out) before and after.
seealso:
  - module: isplab.bng.netns_link
  - module: isplab.bng.netns_route
"""

EXAMPLES = r"""
- name: The BNG's upstream addresses
  isplab.bng.netns_address:
    namespace: bng1
    dev: core
    addresses:
      - 2001:db8:100:1::11/64

- name: The A-only server's address, and no other, on lo
  isplab.bng.netns_address:
    namespace: inet
    dev: lo
    addresses: [198.51.100.10/32]
    exclusive: true
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
  sample: ["add address 2001:db8:100:1::11/64 on bng1:core"]
addresses:
  description:
    - The interface's addresses afterwards (in check mode, as they would be), IPv6 link-local
      and loopback addresses left out.
  returned: always
  type: list
  elements: str
  sample: ["2001:db8:100:1::11/64"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import (
    PYROUTE2_IMPORT_ERROR,
    Kernel,
    NetnsError,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    TopologyError,
    check_address,
    check_ifname,
    check_netns_name,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "namespace": {"type": "str"},
            "dev": {"type": "str", "required": True},
            "addresses": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "exclusive": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    params = module.params
    present = params["state"] == "present"
    if params["exclusive"] and not present:
        module.fail_json(msg="exclusive=true only goes with state=present")
    try:
        netns = check_netns_name(params["namespace"]) if params["namespace"] else None
        dev = check_ifname(params["dev"], "dev")
        errors = []
        wanted = []
        for index, value in enumerate(params["addresses"]):
            try:
                wanted.append(str(check_address(value, f"addresses[{index}]")))
            except TopologyError as exc:
                errors += exc.errors
        if errors:
            raise TopologyError(errors)
        with Kernel(check_mode=module.check_mode) as kernel:
            if not kernel.exists(netns):
                raise NetnsError(f"namespace {netns} does not exist")
            before = kernel.interface_addresses(netns, dev)
            actions: list[str] = []
            if present and params["exclusive"]:
                for address in before:
                    if address not in wanted:
                        actions += kernel.ensure_address(netns, dev, address, present=False)
            for address in wanted:
                actions += kernel.ensure_address(netns, dev, address, present=present)
            if module.check_mode:
                kept = [a for a in before if a in wanted or not params["exclusive"]]
                after = (
                    kept + [a for a in wanted if a not in kept]
                    if present
                    else [a for a in before if a not in wanted]
                )
            else:
                after = kernel.interface_addresses(netns, dev)
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(actions), "actions": actions, "addresses": after}
    if module._diff:
        result["diff"] = {"before": {"addresses": before}, "after": {"addresses": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
