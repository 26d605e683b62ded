# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the options shared by the modules that talk to a BNG failover agent."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  instance:
    description:
      - The BNG whose failover agent to ask, by its instance name in the role
        isplab.bng.bng_failover (C(isplab-bng-failover@NAME.service)).
    type: str
    required: true
  config_dir:
    description: Where the role keeps the agents' settings (NAME.json), which name the agent's control socket.
    type: path
    default: /etc/isplab/bng_failover
  timeout:
    description:
      - Seconds allowed for the agent's answer; the module fails when they run out instead of hanging.
    type: float
    default: 30
notes:
  - The module talks to the running agent through its control socket on the target (root only).
requirements:
  - The role isplab.bng.bng_failover on the target.
"""

    # The filters of the modules that pick adopted sessions (session_filter_spec()).
    SESSIONS = r"""
options:
  session_id:
    description: The session with this PPPoE session id (with O(client_mac), one session).
    type: int
  client_mac:
    description: Sessions of this client MAC (any common notation).
    type: str
  username:
    description: Sessions of this user.
    type: str
  ipv4:
    description: The session with this IPv4 address.
    type: str
"""
