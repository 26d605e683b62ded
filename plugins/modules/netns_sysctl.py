#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sysctl inside a network namespace (net.*: forwarding, accept_ra, ...)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns_sysctl
short_description: Set a sysctl inside a network namespace
version_added: 0.1.0
description:
  - Sets one C(net.*) sysctl inside a network namespace, for example
    C(net.ipv6.conf.all.forwarding) or C(net.ipv6.conf.core.accept_ra), by writing
    C(/proc/sys) from a thread that has entered the namespace; the rest of the target is
    not touched.
  - Only C(net.*) sysctls exist per network namespace; any other name is refused (it would
    change the whole host; use M(ansible.posix.sysctl) for those).
  - The value is not persisted (a namespace does not survive a reboot anyway); the role
    isplab.bng.netns_topology re-applies its model's sysctls at boot.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.netns
  - ansible.builtin.action_common_attributes
options:
  namespace:
    description: The network namespace; it must exist.
    type: str
    required: true
  name:
    description:
      - The sysctl, dotted (V(net.ipv6.conf.all.forwarding)) or as a path under C(/proc/sys)
        (V(net/ipv4/conf/eth0.100/rp_filter)). In the dotted form, the part between C(conf.)
        and the last dot is an interface name, which may contain dots.
    type: str
    required: true
  value:
    description:
      - The value. Blanks are compared collapsed, so V(32768 60999) matches the kernel's
        tab-separated C(ip_local_port_range).
    type: str
    required: true
attributes:
  diff_mode:
    support: full
seealso:
  - module: ansible.posix.sysctl
  - module: isplab.bng.netns_topology
"""

EXAMPLES = r"""
- name: Let the BNG forward IPv6
  isplab.bng.netns_sysctl:
    namespace: bng1
    name: net.ipv6.conf.all.forwarding
    value: "1"

- name: Ignore router advertisements on the upstream interface
  isplab.bng.netns_sysctl:
    namespace: bng1
    name: net.ipv6.conf.core.accept_ra
    value: "0"
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done.
  returned: always
  type: list
  elements: str
  sample: ["set sysctl net.ipv6.conf.all.forwarding = 1 in bng1 (was 0)"]
value:
  description: The value asked for, blanks collapsed.
  returned: always
  type: str
  sample: "1"
previous:
  description: The value before, blanks collapsed.
  returned: always
  type: str
  sample: "0"
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
    sysctl_path,
    sysctl_value,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "namespace": {"type": "str", "required": True},
            "name": {"type": "str", "required": True},
            "value": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    params = module.params
    try:
        netns = check_netns_name(params["namespace"])
        path, _sysctl_name = sysctl_path(params["name"], "name")
        value = sysctl_value(params["value"])
        with Kernel(check_mode=module.check_mode) as kernel:
            if not kernel.exists(netns):
                raise NetnsError(f"namespace {netns} does not exist")
            previous = kernel.read_sysctl(netns, path)
            if previous is None:
                raise NetnsError(f"sysctl {params['name']} does not exist in {netns} (/proc/sys/{path})")
            actions = kernel.ensure_sysctls(netns, [(params["name"], path, value)])
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(actions), "actions": actions, "value": value, "previous": previous}
    if module._diff:
        result["diff"] = {
            "before": f"{params['name']} = {previous}\n",
            "after": f"{params['name']} = {value}\n",
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
