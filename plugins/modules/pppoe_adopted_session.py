#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End adopted PPPoE sessions, one by one or re-homed at a pace."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pppoe_adopted_session
short_description: Terminate or re-home the PPPoE sessions a BNG adopted on failover
version_added: 0.1.0
description:
  - Acts on the sessions that the failover agent of a BNG (role isplab.bng.bng_failover)
    adopted from a failed BNG (see M(isplab.bng.pppoe_adopted_session_info)).
  - O(state=absent) terminates the matching sessions now (LCP Terminate-Request, then a PADT
    from the AC MAC the subscriber knows); its pppd redials and lands on the BNG's own PPPoE
    server (accounting, full feature set), with the same address when addresses are static
    per user.
  - O(state=rehomed) does the same for the matching sessions (or all, without a filter) at
    O(rate) sessions per second, so that a large number of subscribers do not redial at once;
    with O(wait) the module returns when the last one is gone.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.bng_failover
  - isplab.bng.bng_failover.sessions
options:
  state:
    description: V(absent) terminates the matching sessions at once; V(rehomed) at O(rate).
    type: str
    choices: [absent, rehomed]
    default: absent
  all:
    description: Every adopted session. Needed with O(state=absent) when no filter is given.
    type: bool
    default: false
  rate:
    description: PADTs per second for O(state=rehomed); the agent's setting when omitted.
    type: float
  wait:
    description: With O(state=rehomed), wait until every chosen session is gone.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Lists the sessions that would be terminated or re-homed, and ends none.
  diff_mode:
    support: full
    description: Before and after list the matching sessions' ids, MACs and users.
seealso:
  - module: isplab.bng.pppoe_adopted_session_info
"""

EXAMPLES = r"""
- name: Disconnect one adopted subscriber (it redials at once)
  isplab.bng.pppoe_adopted_session:
    instance: bng2
    username: user7
    state: absent

- name: Move every adopted subscriber into accel-ppp, two per second
  isplab.bng.pppoe_adopted_session:
    instance: bng2
    state: rehomed
    rate: 2
"""

RETURN = r"""
sessions:
  description:
    - The adopted sessions that matched, with the fields of
      M(isplab.bng.pppoe_adopted_session_info), as they were before.
  returned: always
  type: list
  elements: dict
remaining:
  description:
    - With O(state=rehomed) and O(wait), the chosen sessions still adopted at the end (none on success).
  returned: always
  type: list
  elements: dict
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.isplab.bng.plugins.module_utils._failover.config import AgentError
from ansible_collections.isplab.bng.plugins.module_utils._failover_module import (
    Agent,
    agent_argument_spec,
    session_filter_spec,
    session_selector,
)


def summary(sessions: list[dict]) -> dict:
    return {
        "sessions": [{key: s.get(key) for key in ("session_id", "client_mac", "username")} for s in sessions]
    }


def key(session: dict) -> tuple:
    return (session["session_id"], session["client_mac"], session["ac_mac"])


def main() -> None:
    argument_spec = agent_argument_spec()
    argument_spec.update(session_filter_spec())
    argument_spec.update(
        state={"type": "str", "choices": ["absent", "rehomed"], "default": "absent"},
        all={"type": "bool", "default": False},
        rate={"type": "float"},
        wait={"type": "bool", "default": True},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    result = {"changed": False, "sessions": [], "remaining": [], "elapsed": 0.0}
    try:
        agent = Agent(params)
        selector = session_selector(params)
        if selector and params["all"]:
            module.fail_json(msg="all=true cannot be combined with a filter", **result)
        if not selector and not params["all"] and params["state"] == "absent":
            module.fail_json(
                msg="give session_id, client_mac, username or ipv4, or all=true to terminate every "
                "adopted session",
                **result,
            )
        if params["rate"] is not None and not 0.01 <= params["rate"] <= 10000:
            module.fail_json(
                msg=f"rate must be 0.01 to 10000 sessions per second, got {params['rate']!r}", **result
            )
        chosen = {"sessions": [selector]} if selector else {}
        result["sessions"] = agent.request("sessions", **chosen)["sessions"]
        result["changed"] = bool(result["sessions"])
        if module._diff:
            result["diff"] = {"before": summary(result["sessions"]), "after": summary([])}
        if not result["sessions"] or module.check_mode:
            result["elapsed"] = round(time.monotonic() - started, 3)
            module.exit_json(**result)
        if params["state"] == "absent":
            agent.request("terminate", **chosen)
        else:
            rate = params["rate"] or agent.config.rehome_rate
            agent.request("rehome", rate=rate, **chosen)
            if params["wait"]:
                wanted = {key(s) for s in result["sessions"]}
                deadline = time.monotonic() + len(wanted) / rate + params["timeout"]
                while True:
                    left = [s for s in agent.request("sessions")["sessions"] if key(s) in wanted]
                    if not left or time.monotonic() > deadline:
                        result["remaining"] = left
                        break
                    time.sleep(min(1.0, max(1.0 / rate, 0.2)))
    except AgentError as exc:
        result["elapsed"] = round(time.monotonic() - started, 3)
        module.fail_json(msg=str(exc), **result)
    result["elapsed"] = round(time.monotonic() - started, 3)
    if result["remaining"]:
        module.fail_json(
            msg=f"{len(result['remaining'])} sessions are still adopted after the re-home", **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
