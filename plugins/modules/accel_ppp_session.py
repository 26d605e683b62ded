#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terminate accel-ppp sessions through its CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accel_ppp_session
short_description: Terminate sessions of an accel-ppp BNG
version_added: 0.1.0
description:
  - Ensures that no session matches the given filters (O(state=absent)). The matching
    sessions are terminated one by one by accel-ppp session id, then the module waits until
    they are gone and fails if any is still there after O(wait_timeout) seconds.
  - Filters compare exactly, as in M(isplab.bng.accel_ppp_session_info); at least one
    filter, or O(all=true), is required.
  - Sessions are terminated by id, never with C(terminate ip), which in accel-ppp also hits
    sessions that have no IPv4 address.
  - A client that redials (pppd C(persist)) comes back as a new session with a new id; that
    one is not waited for, and a later run terminates it again.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.accel_ppp
options:
  state:
    description: V(absent) terminates every matching session.
    type: str
    choices: [absent]
    default: absent
  username:
    description: Sessions of this user name.
    type: str
  ip:
    description: The session with this IPv4 address.
    type: str
  calling_sid:
    description: Sessions of this client MAC address (any common notation).
    type: str
  ifname:
    description: The session on this PPP interface, for example V(ppp0).
    type: str
  sid:
    description: The session with this accel-ppp session id (16 hex digits).
    type: str
  all:
    description: Terminate every session. Cannot be combined with a filter.
    type: bool
    default: false
  mode:
    description:
      - V(soft) ends the session with LCP Terminate, then PADT; V(hard) drops it at once.
    type: str
    choices: [soft, hard]
    default: soft
  wait_timeout:
    description: Seconds to wait for the terminated sessions to disappear; V(0) does not check.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: Lists the sessions that would be terminated and terminates none.
  diff_mode:
    support: full
    description: Before and after list the matching sessions' ids and user names.
"""

EXAMPLES = r"""
- name: Disconnect user1 (the client may redial)
  isplab.bng.accel_ppp_session:
    username: user1
    state: absent

- name: Drop every session of one client MAC at once
  isplab.bng.accel_ppp_session:
    calling_sid: "02:00:00:00:c0:05"
    mode: hard
    netns: bng1

- name: What would a full disconnect hit?
  isplab.bng.accel_ppp_session:
    all: true
  check_mode: true
  register: would_go
"""

RETURN = r"""
sessions:
  description:
    - The sessions that matched and were terminated (in check mode, would be terminated),
      with the fields that M(isplab.bng.accel_ppp_session_info) returns.
  returned: always
  type: list
  elements: dict
  sample:
    - sid: d656a8388f770e5a
      username: user4
      ifname: ppp3
      ip: 100.64.0.14
      calling_sid: "02:00:00:00:c0:04"
      state: active
"""

import time

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_module import (
    SESSION_COLUMNS,
    SESSION_FILTERS,
    accel_ppp_cli,
    accel_ppp_module,
    fail_on_error,
    session_filters,
)

POLL_INTERVAL = 0.2


def summary(sessions: list[dict]) -> dict:
    return {"sessions": [{"sid": s["sid"], "username": s.get("username")} for s in sessions]}


def remaining_after(
    cli, sids: set[str], wait_timeout: float, count_check: bool = False
) -> tuple[list[str], str]:
    """Poll until none of sids is listed or wait_timeout passes: the sids still there, and why
    the listing is not believed (count_check: show stat counts more active sessions than are
    listed, read after the listing so that a session that comes up in between only adds)."""
    deadline = time.monotonic() + wait_timeout
    while True:
        rows = cli.show_sessions(["sid", "state"])
        still = sorted(sids & {row["sid"] for row in rows})
        doubt = ""
        if not still and count_check:
            listed = sum(1 for row in rows if row["state"] == "active")
            active = cli.show_stat().get("sessions", {}).get("active")
            if not isinstance(active, int):
                doubt = "show stat has no count of active sessions"
            elif active > listed:
                doubt = f"show stat counts {active} active sessions, {listed} are listed"
        if (not still and not doubt) or time.monotonic() >= deadline:
            return still, doubt
        time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))


def main() -> None:
    module = accel_ppp_module(
        with_session_filters=True,
        state={"type": "str", "choices": ["absent"], "default": "absent"},
        all={"type": "bool", "default": False},
        mode={"type": "str", "choices": ["soft", "hard"], "default": "soft"},
        wait_timeout={"type": "float", "default": 10.0},
    )
    params = module.params
    given = [name for name in SESSION_FILTERS if params[name] is not None]
    # Checked here rather than with mutually_exclusive, which would also refuse all=false.
    if params["all"] and given:
        module.fail_json(
            msg=f"all=true terminates every session and cannot be combined with {', '.join(given)}"
        )
    if not params["all"] and not given:
        module.fail_json(
            msg=f"give at least one of {', '.join(SESSION_FILTERS)}, or all=true to terminate every session"
        )
    if params["wait_timeout"] < 0:
        module.fail_json(msg=f"wait_timeout must not be negative, got {params['wait_timeout']!r}")

    result = {"changed": False, "sessions": []}
    with accel_ppp_cli(module, result) as cli:
        sessions = cli.find_sessions(SESSION_COLUMNS, session_filters(params))
    result["sessions"] = sessions
    result["changed"] = bool(sessions)
    if module._diff:
        result["diff"] = {"before": summary(sessions), "after": summary([])}
    if not sessions or module.check_mode:
        module.exit_json(**result)

    # changed tells what was really done, also when a terminate fails half-way.
    result["changed"] = False
    with fail_on_error(module, result):
        for session in sessions:
            cli.terminate(sid=session["sid"], mode=params["mode"])
            result["changed"] = True
        still, doubt = [], ""
        if params["wait_timeout"] > 0:
            still, doubt = remaining_after(
                cli, {s["sid"] for s in sessions}, params["wait_timeout"], count_check=params["all"]
            )
    if doubt:
        module.fail_json(
            msg=f"terminated {len(sessions)} sessions (all=true), but {doubt} "
            f"{params['wait_timeout']:g} s later: sessions may still be up",
            **result,
        )
    if still:
        if module._diff:
            result["diff"]["after"] = summary([s for s in sessions if s["sid"] in still])
        module.fail_json(
            msg=f"{len(still)} of {len(sessions)} sessions still listed {params['wait_timeout']:g} s "
            f"after terminate ({params['mode']}): {', '.join(still)}",
            remaining=still,
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
