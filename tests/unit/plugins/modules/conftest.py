# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process, with exit_json/fail_json turned into exceptions.

As in community.routeros' module tests: the arguments are patched in, exit_json and
fail_json raise, and the test reads the result from the exception. The modules talk real
TCP to the fake accel-ppp server of tests/unit/plugins/module_utils/fake_accel_ppp.py.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.isplab.bng.tests.unit.plugins.module_utils.fake_accel_ppp import (
    BngEmulator,
    closed_port,
    fake_cli,
)
from ansible_collections.isplab.bng.tests.unit.plugins.modules.fake_failover_agent import fake_agent

# The fixtures of the fake accel-ppp server and the fake failover agent, for every test here.
__all__ = ["closed_port", "fake_agent", "fake_cli"]


class AnsibleExitJson(Exception):
    """exit_json was called; args[0] is the result."""


class AnsibleFailJson(Exception):
    """fail_json was called; args[0] is the result."""


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise AnsibleFailJson(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """run(module, args, check_mode=False, diff=False) -> (failed, result).

    The result is round-tripped through JSON, as Ansible would send it, so a value that does
    not serialise fails the test.
    """
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def run(module, args: dict, check_mode: bool = False, diff: bool = False):
        full = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(full):
            try:
                module.main()
            except AnsibleExitJson as done:
                return False, json.loads(json.dumps(done.args[0]))
            except AnsibleFailJson as failed:
                return True, json.loads(json.dumps(failed.args[0]))
        raise AssertionError("the module returned without exit_json or fail_json")

    return run


@pytest.fixture
def bng(fake_cli):
    """start(emulator=None, **server_options) -> namespace(emulator, server, conn).

    conn holds the connection options for the modules (host, port, timeout).
    """

    def start(emulator=None, **options):
        emulator = emulator if emulator is not None else BngEmulator()
        server = fake_cli(emulator, **options)
        conn = {"host": server.host, "port": server.port, "timeout": 3}
        return SimpleNamespace(emulator=emulator, server=server, conn=conn)

    return start
