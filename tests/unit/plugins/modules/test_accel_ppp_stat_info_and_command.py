# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.accel_ppp_stat_info and isplab.bng.accel_ppp_command against the fake accel-ppp."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.isplab.bng.plugins.modules import accel_ppp_command, accel_ppp_stat_info
from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import BngEmulator


def test_stat_info_default(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_stat_info, lab.conn)
    assert not failed, result
    assert result["changed"] is False
    assert result["version"] == "1.14.0"
    assert result["stat"]["sessions"]["active"] == 30
    assert (result["stat"]["mem_rss_kb"], result["stat"]["mem_virt_kb"]) == (5524, 175132)
    assert result["ippool"] == [
        {"name": "<default>", "total": 241, "used": 0, "available": 241, "usage_percent": 0}
    ]
    assert "pppoe_interfaces" not in result
    assert lab.server.commands == ["show stat", "show ippool", "show version"]


def test_stat_info_pppoe_interfaces_only(bng, run_module):
    lab = bng()
    failed, result = run_module(
        accel_ppp_stat_info, {**lab.conn, "gather": ["pppoe_interfaces"]}, check_mode=True
    )
    assert not failed
    assert result["pppoe_interfaces"] == [{"interface": "eth0", "connections": 0, "state": "active"}]
    assert "stat" not in result


def test_stat_info_module_not_loaded(fake_cli, run_module):
    server = fake_cli(lambda command: "command unknown\r\n")
    failed, result = run_module(accel_ppp_stat_info, {"port": server.port, "gather": ["ippool"]})
    assert failed
    assert result["error"] == "AccelPppUnknownCommandError"
    assert result["reply"] == "command unknown\r\n"


def test_command_runs_and_splits_lines(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_command, {**lab.conn, "command": "pppoe show AC-Name"})
    assert not failed
    assert (result["changed"], result["stdout"], result["stdout_lines"]) == (False, "lab-bng\n", ["lab-bng"])


def test_command_changes_flag(bng, run_module):
    lab = bng()
    failed, result = run_module(
        accel_ppp_command, {**lab.conn, "command": "pppoe set PADO-delay 500", "changes": True}
    )
    assert not failed
    assert result["changed"] is True
    assert result["stdout"] == ""
    assert lab.emulator.settings["PADO-delay"] == "500"


def test_command_not_run_in_check_mode(bng, run_module):
    lab = bng()
    args = {**lab.conn, "command": "pppoe set PADO-delay 500", "changes": True}
    failed, result = run_module(accel_ppp_command, args, check_mode=True)
    assert not failed
    assert result["skipped"] is True
    assert result["changed"] is True
    assert lab.server.connections == 0
    assert lab.emulator.settings["PADO-delay"] == "0"


def test_read_only_command_runs_in_check_mode(bng, run_module):
    lab = bng()
    args = {**lab.conn, "command": "show sessions username match username ^user3$", "read_only": True}
    failed, result = run_module(accel_ppp_command, args, check_mode=True)
    assert not failed
    assert result["stdout_lines"] == [" username ", "----------", " user3    "]
    assert result["changed"] is False


@pytest.mark.parametrize("check_mode", [True, False])
def test_read_only_is_not_taken_on_the_callers_word(bng, run_module, check_mode):
    """A changing command called read-only runs nowhere, in check mode least of all."""
    lab = bng()
    args = {**lab.conn, "command": "terminate all", "read_only": True}
    failed, result = run_module(accel_ppp_command, args, check_mode=check_mode)
    assert failed
    assert "'terminate all' is not one of the commands known to only read (help, show stat," in result["msg"]
    assert lab.server.connections == 0
    assert lab.emulator.terminated == []


def test_no_password_given_and_the_cli_wants_one(bng, run_module):
    """terminate answers nothing when it works: without the password it must not look done."""
    lab = bng(password="s3cret")
    failed, result = run_module(accel_ppp_command, {**lab.conn, "command": "terminate all", "changes": True})
    assert failed
    assert result["error"] == "AccelPppAuthError"
    assert "the CLI asks for a password" in result["msg"]
    assert result["changed"] is False
    assert lab.emulator.terminated == []


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("show sessions bogus-col", "AccelPppUnknownColumnError"),
        ("terminate foo bar", "AccelPppSyntaxError"),
        ("frobnicate", "AccelPppUnknownCommandError"),
        ("show sessions match username (", "AccelPppRegexError"),
    ],
)
def test_command_error_replies_fail(bng, run_module, command, error):
    lab = bng()
    failed, result = run_module(accel_ppp_command, {**lab.conn, "command": command})
    assert failed
    assert result["error"] == error
    assert result["command"] == command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"command": "show stat\nterminate all"}, "command must not contain a line break"),
        ({"command": ""}, "command must not be empty"),
        ({"command": "show " + "x" * 1100}, "accel-ppp drops lines over 1023 bytes"),
        ({"command": " ".join(["w"] * 101)}, "more than 100 words"),
        ({"command": "reload", "changes": True, "read_only": True}, "contradict"),
    ],
)
def test_command_bad_input(bng, run_module, args, message):
    lab = bng()
    failed, result = run_module(accel_ppp_command, {**lab.conn, **args})
    assert failed
    assert message in result["msg"]
    assert lab.server.connections == 0


def test_command_wrong_password(bng, run_module):
    lab = bng(password="s3cret")
    failed, result = run_module(accel_ppp_command, {**lab.conn, "password": "x", "command": "reload"})
    assert failed
    assert result["error"] == "AccelPppAuthError"


ROLE = Path(__file__).resolve().parents[4] / "roles" / "accel_ppp"


def readiness_waits():
    """Every accel_ppp_stat_info task of the role accel_ppp (its waits for the CLI)."""
    found = []
    for path in (ROLE / "tasks" / "instances.yml", ROLE / "handlers" / "main.yml"):
        for task in yaml.safe_load(path.read_text()):
            if "isplab.bng.accel_ppp_stat_info" in task:
                found.append(pytest.param(task["isplab.bng.accel_ppp_stat_info"], id=task["name"]))
    return found


class WithoutIpPool(BngEmulator):
    """An instance that takes its addresses from RADIUS or static files: no ippool module."""

    def __call__(self, command: str) -> str:
        return "command unknown\r\n" if command == "show ippool" else super().__call__(command)


def test_the_role_has_both_waits_for_the_cli():
    """Guards the parametrized test below: with no task found, it would not run at all."""
    assert [param.id for param in readiness_waits()] == [
        "Wait for the CLI of each instance",
        "Wait for the CLI of the restarted instances",
    ]


@pytest.mark.parametrize("task", readiness_waits())
def test_the_roles_wait_for_the_cli_needs_no_ip_pool(bng, run_module, task):
    lab = bng(WithoutIpPool())
    gather = {"gather": task["gather"]} if "gather" in task else {}
    failed, result = run_module(accel_ppp_stat_info, {**lab.conn, **gather})
    assert not failed, result
    assert "show ippool" not in lab.server.commands
