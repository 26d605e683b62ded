#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One step of a planned BNG switchover, through the local failover agent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bng_switchover
short_description: Move the subscribers of the active BNG to its standby (planned switchover)
version_added: 0.1.0
description:
  - A planned switchover (maintenance) of a BNG pair run by the role isplab.bng.bng_failover.
    The active BNG hands its subscribers to the standby, which adopts their sessions (or, with
    the stage-one takeover, makes them redial by PADT), and then rejoins as the standby.
  - With O(step=switchover) (the default) the action plugin of the same name runs the steps in
    order from the controller and waits between them. The other steps are done by the module on
    the host of the BNG, through its failover agent, which asks its peer over the replication
    link, so the two BNGs may be network namespaces of one host or two hosts.
  - V(check) changes nothing and fails, naming the reason, unless the switchover can go ahead
    (this BNG active and healthy, the peer standby, healthy and with a fresh copy of every
    session). V(release) makes the active BNG give up (a last replication round, then its
    access link down, so the standby's keepalived takes over at once), V(status) reports both
    BNGs, V(rejoin) brings the old active back as standby.
  - If the standby does not report a takeover within O(wait_timeout), the old active rejoins so
    that the pair is not left without a BNG, and the task fails.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.bng_failover
options:
  step:
    description: The whole switchover, or the one step to run.
    type: str
    choices: [switchover, check, release, status, rejoin]
    default: switchover
  rejoin:
    description: With O(step=switchover), let the old active BNG rejoin as standby at the end.
    type: bool
    default: true
  wait_timeout:
    description: With O(step=switchover), seconds to wait for the standby's takeover.
    type: float
    default: 120
  poll:
    description: With O(step=switchover), seconds between two looks at the standby.
    type: float
    default: 1
attributes:
  check_mode:
    support: full
    description: V(release) and V(rejoin) report what they would do and change nothing.
  diff_mode:
    support: none
    description: Reports no diff.
seealso:
  - module: isplab.bng.pppoe_adopted_session_info
"""

EXAMPLES = r"""
- name: Maintenance on bng1 - its subscribers move to bng2, then bng1 rejoins as standby
  isplab.bng.bng_switchover:
    instance: bng1
  register: switchover

- name: Can bng1 hand over to its standby now?
  isplab.bng.bng_switchover:
    instance: bng1
    step: check
"""

RETURN = r"""
timings:
  description: With O(step=switchover), seconds per step (check, release, takeover, rejoin, total).
  returned: success
  type: dict
  sample: {check: 2.1, release: 1.4, takeover: 3.2, rejoin: 2.0, total: 8.9}
takeover:
  description: With O(step=switchover), the standby's report of its takeover (adopted, PADT, seconds).
  returned: success
  type: dict
local:
  description: The status of this BNG's agent (role, keepalived, health, replication, adopted, last takeover).
  returned: always
  type: dict
peer:
  description: The peer agent's status as it reports it (null when it does not answer, with step=status).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError
from ansible_collections.isplab.bng.plugins.module_utils._failover_module import Agent, agent_argument_spec


def ready(local: dict, peer: dict) -> str | None:
    """Why the switchover cannot go ahead, or None."""
    if local.get("role") != "active":
        return f"{local.get('instance')} is {local.get('role')}, not the active BNG"
    if not local.get("healthy"):
        return f"{local.get('instance')} is not healthy: {local.get('health')}"
    if peer.get("role") != "standby" or not peer.get("healthy"):
        name, role = peer.get("instance"), peer.get("role")
        return f"the peer {name} is {role} ({peer.get('health')}), not a healthy standby"
    state = peer.get("replicated_state") or {}
    sessions = (local.get("replication") or {}).get("sessions", 0)
    if sessions and not state.get("fresh"):
        return (
            f"the peer {peer.get('instance')} has no fresh copy of the sessions ({state or 'none received'})"
        )
    if state.get("sessions", 0) != sessions:
        copied = state.get("sessions", 0)
        return f"the peer has {copied} sessions replicated, {local.get('instance')} serves {sessions}"
    return None


def main() -> None:
    argument_spec = agent_argument_spec()
    # The options of the whole switchover are the action plugin's (plugins/action/bng_switchover.py,
    # with the same defaults); the module accepts them as documented and does one step.
    argument_spec.update(
        step={
            "type": "str",
            "choices": ["switchover", "check", "release", "status", "rejoin"],
            "default": "switchover",
        },
        rejoin={"type": "bool", "default": True},
        wait_timeout={"type": "float", "default": 120},
        poll={"type": "float", "default": 1},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    step = module.params["step"]
    if step == "switchover":
        module.fail_json(
            msg="step=switchover runs from the controller, through the action plugin isplab.bng."
            "bng_switchover; the module on its own does one of the steps check, release, status, rejoin"
        )
    result = {"changed": False, "local": {}, "peer": None}
    try:
        agent = Agent(module.params)
        result["local"] = agent.request("status")
        if step == "rejoin":
            if result["local"].get("role") == "standby":
                module.exit_json(**result)
            result["changed"] = True
            if not module.check_mode:
                result["local"] = agent.request("rejoin")
            module.exit_json(**result)
        try:
            result["peer"] = agent.request("peer")["peer"]
        except AgentError:
            if step != "status":
                raise
        if step == "status":
            module.exit_json(**result)
        why = ready(result["local"], result["peer"])
        if why:
            module.fail_json(msg=f"no switchover: {why}", **result)
        if step == "release":
            result["changed"] = True
            if not module.check_mode:
                result["local"] = agent.request("release")
    except AgentError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
