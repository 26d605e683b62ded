# SPDX-License-Identifier: GPL-3.0-or-later
"""isplab.bng.accel_ppp_pppoe: check, apply, idempotence, change, diff, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.isplab.bng.plugins.modules import accel_ppp_pppoe


def run_sequence(run_module, args):
    """check -> apply -> idempotent check -> idempotent apply, as the integration tests do."""
    results = [
        run_module(accel_ppp_pppoe, args, check_mode=True, diff=True),
        run_module(accel_ppp_pppoe, args, diff=True),
        run_module(accel_ppp_pppoe, args, check_mode=True, diff=True),
        run_module(accel_ppp_pppoe, args, diff=True),
    ]
    assert [failed for failed, _result in results] == [False] * 4, results
    return [result for _failed, result in results]


def test_pado_delay(bng, run_module):
    lab = bng()
    check, apply, check2, apply2 = run_sequence(run_module, {**lab.conn, "pado_delay": "0,100:100,-1:500"})
    assert [r["changed"] for r in (check, apply, check2, apply2)] == [True, True, False, False]
    assert check["commands"] == ["pppoe set PADO-delay 0,100:100,-1:500"]
    assert check["diff"] == {"before": {"pado_delay": "0"}, "after": {"pado_delay": "0,100:100,-1:500"}}
    assert apply["pppoe"] == {"pado_delay": "0,100:100,-1:500"}
    assert lab.emulator.settings["PADO-delay"] == "0,100:100,-1:500"
    assert check2["commands"] == apply2["commands"] == []
    assert lab.server.commands.count("pppoe set PADO-delay 0,100:100,-1:500") == 1


def test_only_what_differs_is_set(bng, run_module):
    lab = bng()
    args = {**lab.conn, "ac_name": "lab-bng", "service_name": "internet", "verbose": 2}
    failed, result = run_module(accel_ppp_pppoe, args)
    assert not failed, result
    assert result["commands"] == ["pppoe set Service-Name internet", "pppoe set verbose 2"]
    assert result["pppoe"] == {"ac_name": "lab-bng", "service_name": "internet", "verbose": 2}
    assert not any(c.startswith("pppoe set AC-Name") for c in lab.server.commands)


def test_interfaces_present_then_absent(bng, run_module):
    lab = bng()
    present = {**lab.conn, "interfaces": ["eth0", "eth1"]}
    check, apply, check2, apply2 = run_sequence(run_module, present)
    assert check["commands"] == ["pppoe interface add eth1"]
    assert check["diff"]["before"] == {"interfaces": ["eth0"]}
    assert check["diff"]["after"] == {"interfaces": ["eth0", "eth1"]}
    assert (apply["changed"], check2["changed"], apply2["changed"]) == (True, False, False)
    assert set(lab.emulator.interfaces) == {"eth0", "eth1"}

    absent = {**lab.conn, "interfaces": ["eth1", "eth2"], "interfaces_state": "absent"}
    check, apply, check2, apply2 = run_sequence(run_module, absent)
    assert check["commands"] == ["pppoe interface del eth1"]
    assert apply["pppoe"] == {"interfaces": ["eth0"]}
    assert (check2["changed"], apply2["changed"]) == (False, False)
    assert set(lab.emulator.interfaces) == {"eth0"}


def test_interface_being_stopped_counts_as_not_served(bng, run_module):
    lab = bng()
    lab.emulator.interfaces["eth1"] = "stop"
    failed, result = run_module(
        accel_ppp_pppoe, {**lab.conn, "interfaces": ["eth1"], "interfaces_state": "absent"}
    )
    assert not failed
    assert result["changed"] is False


def test_no_such_device(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_pppoe, {**lab.conn, "interfaces": ["nosuchif"]})
    assert failed
    assert result["error"] == "AccelPppNoSuchDeviceError"
    assert "'nosuchif'" in result["msg"]
    assert result["commands"] == []


def test_refused_value_is_reported(bng, run_module):
    """A value the daemon refuses: the command error surfaces, nothing is claimed."""
    lab = bng()
    lab.emulator.settings.pop("verbose")
    failed, result = run_module(accel_ppp_pppoe, {**lab.conn, "verbose": 3})
    assert failed
    assert result["error"] == "AccelPppInvalidArgumentError"


def test_value_not_taken_is_detected(bng, run_module):
    lab = bng()
    original = lab.emulator._pppoe_set
    lab.emulator._pppoe_set = lambda name, value: original(name, value + "0")
    failed, result = run_module(accel_ppp_pppoe, {**lab.conn, "ac_name": "bng2"})
    assert failed
    assert "does not show the values that were set for ac_name" in result["msg"]
    assert result["pppoe"] == {"ac_name": "bng20"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"pado_delay": "fast"}, "pado_delay must be DELAY[,DELAY:COUNT...]"),
        ({"pado_delay": "0,100"}, "'0,100'"),
        ({"ac_name": "lab bng"}, "ac_name must not contain blanks"),
        ({"ac_name": "lab\nterminate all"}, "ac_name must not contain a line break"),
        ({"service_name": ""}, "service_name must not be empty"),
        ({"interfaces": ["eth0/1"]}, "interfaces is not a Linux interface name"),
        ({"interfaces": ["a-very-long-interface"]}, "'a-very-long-interface'"),
    ],
)
def test_bad_input(bng, run_module, args, message):
    lab = bng()
    failed, result = run_module(accel_ppp_pppoe, {**lab.conn, **args})
    assert failed
    assert message in result["msg"]
    assert lab.server.connections == 0


def test_nothing_asked_nothing_read(bng, run_module):
    lab = bng()
    failed, result = run_module(accel_ppp_pppoe, lab.conn)
    assert (failed, result["changed"], result["pppoe"]) == (False, False, {})
    assert lab.server.connections == 0
