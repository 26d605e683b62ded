#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create or remove a network namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns
short_description: Create or remove a named network namespace
version_added: 0.1.0
description:
  - Creates or removes a network namespace the way C(ip netns add) and C(ip netns delete) do
    (a bind mount under C(/run/netns)), through netlink (pyroute2), without running C(ip).
  - Removing a namespace removes every interface in it, and the peer of every veth end in it.
    A process that still runs inside keeps the namespace and its interfaces alive, without
    a name, until it ends; stop such services first.
  - To build many namespaces with their links at once, M(isplab.bng.netns_topology) is much
    faster than one task per resource.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.netns
  - ansible.builtin.action_common_attributes
options:
  name:
    description:
      - The namespace's name, as C(ip netns) shows it (a file name under C(/run/netns)).
    type: str
    required: true
  state:
    description:
      - V(present) creates the namespace if it does not exist; V(absent) removes it if it does.
    type: str
    choices: [present, absent]
    default: present
attributes:
  diff_mode:
    support: full
seealso:
  - module: isplab.bng.netns_link
  - module: isplab.bng.netns_topology
"""

EXAMPLES = r"""
- name: Create the namespace of the primary BNG
  isplab.bng.netns:
    name: bng1

- name: Remove a namespace and everything in it
  isplab.bng.netns:
    name: scratch
    state: absent
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
  sample: ["create namespace bng1"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import (
    PYROUTE2_IMPORT_ERROR,
    Kernel,
    NetnsError,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    TopologyError,
    check_netns_name,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    name = module.params["name"]
    present = module.params["state"] == "present"
    try:
        check_netns_name(name, "name")
        with Kernel(check_mode=module.check_mode) as kernel:
            existed = kernel.exists(name)
            actions = kernel.ensure_netns(name, present=present)
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(actions), "actions": actions}
    if module._diff:
        result["diff"] = {
            "before": {"name": name, "exists": existed},
            "after": {"name": name, "exists": present},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
