# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of the planned switchover: steps in order, waiting, and the way back."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.isplab.bng.plugins.action.bng_switchover import ActionModule

LOCAL = {"instance": "bng1", "role": "active", "replication": {"sessions": 20}}
PEER = {"instance": "bng2", "role": "standby", "last_takeover": None}


class Steps:
    """Plays the module: records the steps and answers like the agents would."""

    def __init__(self, takes_over_after: int | None = 2, fail: str | None = None):
        self.calls: list[str] = []
        self.status_calls = 0
        self.takes_over_after = takes_over_after
        self.fail = fail

    def __call__(self, module_name, module_args, task_vars):
        step = module_args["step"]
        self.calls.append(step)
        if step == self.fail:
            return {"failed": True, "msg": f"{step} refused"}
        if step == "status":
            self.status_calls += 1
            if self.takes_over_after is not None and self.status_calls >= self.takes_over_after:
                return {
                    "local": dict(LOCAL, role="fenced"),
                    "peer": dict(PEER, role="active", last_takeover={"at": 9e9, "adopted": 20}),
                }
            return {"local": dict(LOCAL, role="fenced"), "peer": PEER}
        if step == "rejoin":
            return {"changed": True, "local": dict(LOCAL, role="standby"), "peer": None}
        return {"local": LOCAL, "peer": PEER}


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})

    def make(args: dict, steps: Steps, check_mode: bool = False) -> ActionModule:
        task = MagicMock()
        task.args = args
        play_context = MagicMock()
        play_context.check_mode = check_mode
        plugin = ActionModule(task, MagicMock(), play_context, MagicMock(), MagicMock(), MagicMock())
        plugin._execute_module = steps
        return plugin

    return make


def test_switchover_runs_the_steps_in_order(action):
    steps = Steps()
    result = action({"instance": "bng1", "poll": 0.01}, steps).run(task_vars={})
    assert steps.calls == ["check", "release", "status", "status", "rejoin"]
    assert result["changed"] and result["takeover"]["adopted"] == 20
    assert (result["from_instance"], result["to_instance"], result["sessions"]) == ("bng1", "bng2", 20)
    assert result["local"]["role"] == "standby"
    assert set(result["timings"]) == {"check", "release", "takeover", "rejoin", "total"}


def test_check_mode_only_checks(action):
    steps = Steps()
    result = action({"instance": "bng1"}, steps, check_mode=True).run(task_vars={})
    assert steps.calls == ["check"]
    assert result["msg"] == "would hand 20 sessions to bng2"


def test_a_refused_check_changes_nothing(action):
    steps = Steps(fail="check")
    with pytest.raises(AnsibleActionFail, match="check: check refused"):
        action({"instance": "bng1"}, steps).run(task_vars={})
    assert steps.calls == ["check"]


def test_no_takeover_in_time_brings_the_old_active_back(action):
    steps = Steps(takes_over_after=None)
    with pytest.raises(AnsibleActionFail, match=r"did not report a takeover within 0\.05 s; bng1 rejoined"):
        action({"instance": "bng1", "wait_timeout": 0.05, "poll": 0.01}, steps).run(task_vars={})
    assert steps.calls[:2] == ["check", "release"] and steps.calls[-1] == "rejoin"


def test_one_step_goes_to_the_module(action):
    steps = Steps()
    action({"instance": "bng1", "step": "status", "wait_timeout": 5}, steps).run(task_vars={})
    assert steps.calls == ["status"]


def test_bad_arguments(action):
    with pytest.raises(AnsibleActionFail, match="instance"):
        action({}, Steps()).run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="must be positive"):
        action({"instance": "bng1", "poll": 0}, Steps()).run(task_vars={})
