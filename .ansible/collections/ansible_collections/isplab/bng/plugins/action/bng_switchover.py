# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of a planned BNG switchover: the steps of the module, in order, with waits.

The module isplab.bng.bng_switchover does one step on the host of the active BNG; this plugin
checks, releases, waits until the standby reports that it took every session over, and lets
the old active rejoin as standby, timing each step. If the standby does not take over in time,
the old active is brought back (rejoin) so that the pair is never left without a BNG.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

_ARGS = {"instance", "config_dir", "timeout", "step", "rejoin", "wait_timeout", "poll"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(_ARGS)

    def _step(self, task_vars: dict, step: str, args: dict) -> dict:
        module_args = {key: args[key] for key in ("instance", "config_dir", "timeout") if key in args}
        module_args["step"] = step
        result = self._execute_module(
            module_name="isplab.bng.bng_switchover", module_args=module_args, task_vars=task_vars
        )
        if result.get("failed"):
            raise AnsibleActionFail(f"{step}: {result.get('msg')}", result=result)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if "instance" not in args:
            raise AnsibleActionFail("instance (the active BNG to switch over from) is required")
        step = args.pop("step", "switchover")
        if step != "switchover":
            # One step only: the module does it.
            for name in ("rejoin", "wait_timeout", "poll"):
                args.pop(name, None)
            args["step"] = step
            return self._execute_module(
                module_name="isplab.bng.bng_switchover", module_args=args, task_vars=task_vars
            )
        rejoin = bool(args.pop("rejoin", True))
        wait_timeout = float(args.pop("wait_timeout", 120))
        poll = float(args.pop("poll", 1.0))
        if wait_timeout <= 0 or poll <= 0:
            raise AnsibleActionFail(f"wait_timeout and poll must be positive, got {wait_timeout} and {poll}")
        timings: dict[str, float] = {}
        started = time.monotonic()
        checked = self._step(task_vars, "check", args)
        local, peer = checked["local"], checked["peer"]
        result.update(
            from_instance=local.get("instance"),
            to_instance=peer.get("instance"),
            timings=timings,
            sessions=(local.get("replication") or {}).get("sessions", 0),
        )
        timings["check"] = round(time.monotonic() - started, 3)
        if self._play_context.check_mode:
            result.update(
                changed=True, msg=f"would hand {result['sessions']} sessions to {peer.get('instance')}"
            )
            return result
        released_at = time.time()
        mark = time.monotonic()
        self._step(task_vars, "release", args)
        result["changed"] = True
        timings["release"] = round(time.monotonic() - mark, 3)
        mark = time.monotonic()
        taken = None
        try:
            while time.monotonic() - mark < wait_timeout:
                status = self._step(task_vars, "status", args)
                peer = status.get("peer") or {}
                takeover = peer.get("last_takeover") or {}
                if peer.get("role") == "active" and takeover.get("at", 0) >= released_at - 1:
                    taken = takeover
                    break
                time.sleep(poll)
        finally:
            timings["takeover"] = round(time.monotonic() - mark, 3)
            if taken is None or rejoin:
                mark = time.monotonic()
                rejoined = self._step(task_vars, "rejoin", args)
                timings["rejoin"] = round(time.monotonic() - mark, 3)
                result["local"] = rejoined["local"]
        result["takeover"] = taken
        result["peer"] = peer
        if taken is None:
            raise AnsibleActionFail(
                f"{result['to_instance']} did not report a takeover within {wait_timeout:g} s; "
                f"{result['from_instance']} rejoined so that the pair is not left without a BNG",
                result=result,
            )
        timings["total"] = round(time.monotonic() - started, 3)
        return result
