#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A route of the main table in a network namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netns_route
short_description: Manage a route in a network namespace
version_added: 0.1.0
description:
  - Adds, replaces or removes one route of the main routing table in a network namespace (or
    in the host's root namespace) through netlink (pyroute2), be it a default route, a route via a
    gateway, or a route straight out of an interface.
  - A route is identified, as the kernel does, by its destination and metric; a route with
    that destination and metric but another gateway or interface is replaced.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.netns
  - ansible.builtin.action_common_attributes
options:
  namespace:
    description: The network namespace; omit it for the host's root namespace.
    type: str
  to:
    description:
      - The destination prefix, host bits clear (V(64:ff9b::/96), V(10.0.0.0/8)), V(0.0.0.0/0) or
        V(::/0), or V(default), which takes its address family from O(via).
    type: str
    required: true
  via:
    description:
      - The gateway. An IPv6 link-local gateway needs O(dev). One of O(via) and O(dev) is
        required with O(state=present).
    type: str
  dev:
    description: The interface the route leaves through.
    type: str
  metric:
    description:
      - The route's metric (priority). Omitted, the kernel's default for the family
        (0 for IPv4, 1024 for IPv6).
    type: int
  state:
    description:
      - V(present) adds or replaces the route; V(absent) removes the route with this
        destination and metric, whatever its gateway.
    type: str
    choices: [present, absent]
    default: present
attributes:
  diff_mode:
    support: full
    details: Shows the route with this destination and metric before and after.
seealso:
  - module: isplab.bng.netns_address
  - module: isplab.bng.netns_topology
"""

EXAMPLES = r"""
- name: The BNG's default route to the core
  isplab.bng.netns_route:
    namespace: bng1
    to: default
    via: 2001:db8:100:1::1

- name: NAT64's prefix, towards the NAT64 namespace
  isplab.bng.netns_route:
    namespace: core
    to: 64:ff9b::/96
    via: 2001:db8:100:64::2

- name: A route straight out of an interface
  isplab.bng.netns_route:
    namespace: v4dev
    to: 0.0.0.0/0
    dev: clat
"""

RETURN = r"""
actions:
  description: What was done, or in check mode what would be done, one line per change.
  returned: always
  type: list
  elements: str
  sample: ["add route ::/0 via 2001:db8:100:1::1 metric 1024 in bng1"]
route:
  description: The route as asked, normalised.
  returned: always
  type: dict
  sample: {"to": "::/0", "via": "2001:db8:100:1::1", "dev": null, "metric": 1024}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.isplab.bng.plugins.module_utils._netns import (
    PYROUTE2_IMPORT_ERROR,
    Kernel,
    NetnsError,
)
from ansible_collections.isplab.bng.plugins.module_utils._topology_checks import (
    DEFAULT_METRIC,
    TopologyError,
    check_destination,
    check_gateway,
    check_ifname,
    check_metric,
    check_netns_name,
)


def _route_state(kernel: Kernel, netns: str | None, to: str, metric: int) -> dict:
    """The route with this destination and metric as the kernel has it ({} when there is none)."""
    for route in kernel.routes(netns):
        if str(route["to"]) == to and route["metric"] == metric:
            names = {link["index"]: name for name, link in kernel.links(netns).items()}
            gateway = route["gateway"]
            return {
                "to": to,
                "via": gateway and str(gateway),
                "dev": names.get(route["oif"]),
                "metric": metric,
            }
    return {}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "namespace": {"type": "str"},
            "to": {"type": "str", "required": True},
            "via": {"type": "str"},
            "dev": {"type": "str"},
            "metric": {"type": "int"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(PYROUTE2_IMPORT_ERROR))
    params = module.params
    present = params["state"] == "present"
    if present and not (params["via"] or params["dev"]):
        module.fail_json(msg="a route needs via (a gateway), dev (an interface) or both")
    try:
        netns = check_netns_name(params["namespace"]) if params["namespace"] else None
        via = check_gateway(params["via"]) if params["via"] else None
        dev = check_ifname(params["dev"], "dev") if params["dev"] else None
        to = check_destination(params["to"], via)
        if via is not None and via.version != to.version:
            raise TopologyError([f"via: gateway {via} is IPv{via.version} but to {to} is IPv{to.version}"])
        if via is not None and via.version == 6 and via.is_link_local and dev is None:
            raise TopologyError([f"via: the link-local gateway {via} needs dev"])
        metric = (
            check_metric(params["metric"]) if params["metric"] is not None else DEFAULT_METRIC[to.version]
        )
        route = {"to": str(to), "via": via and str(via), "dev": dev, "metric": metric}
        with Kernel(check_mode=module.check_mode) as kernel:
            if not kernel.exists(netns):
                raise NetnsError(f"namespace {netns} does not exist")
            before = _route_state(kernel, netns, route["to"], metric)
            actions = kernel.ensure_route(netns, route["to"], route["via"], dev, metric, present=present)
            if module.check_mode:
                after = before if not actions else (dict(route) if present else {})
            else:
                after = _route_state(kernel, netns, route["to"], metric)
    except (NetnsError, TopologyError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(actions), "actions": actions, "route": route}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
