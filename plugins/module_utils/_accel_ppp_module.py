# SPDX-License-Identifier: GPL-3.0-or-later
"""What every isplab.bng module that talks to accel-ppp's CLI shares.

Private to the isplab.bng collection: no stability promise outside it.

The connection options are defined once here (documented once in the doc fragment
isplab.bng.accel_ppp) and merged into each module's argument spec, so that
`module_defaults: {group/isplab.bng.accel_ppp: {...}}` sets them for all of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    HUMAN_READABLE_COLUMNS,
    AccelPppCli,
    AccelPppCommandError,
    AccelPppError,
    check_ifname,
    check_ipv4,
    check_sid,
    check_word,
)
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    SESSION_COLUMNS as ALL_SESSION_COLUMNS,
)
from ansible_collections.isplab.bng.plugins.module_utils._pppoe_kernel import PppoeKernelError, normalise_mac

# The session columns the modules return: every one with a machine-readable value.
SESSION_COLUMNS = tuple(column for column in ALL_SESSION_COLUMNS if column not in HUMAN_READABLE_COLUMNS)
SESSION_FILTERS = ("username", "ip", "calling_sid", "ifname", "sid")


def accel_ppp_argument_spec() -> dict:
    """The connection options; merge into a module's argument_spec."""
    return {
        "host": {"type": "str", "default": DEFAULT_HOST},
        "port": {"type": "int", "default": DEFAULT_PORT},
        "password": {"type": "str", "no_log": True},
        "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
        "netns": {"type": "str"},
    }


def session_filter_spec() -> dict:
    """The session filter options of accel_ppp_session_info and accel_ppp_session."""
    return {name: {"type": "str"} for name in SESSION_FILTERS}


def session_filters(params: dict) -> dict:
    """The filters given in params, checked, in the form `show sessions` prints the values."""
    given = {name: params.get(name) for name in SESSION_FILTERS}
    filters = {}
    if given["username"] is not None:
        filters["username"] = check_word("username", given["username"])
    if given["ip"] is not None:
        filters["ip"] = check_ipv4("ip", given["ip"])
    if given["calling_sid"] is not None:
        filters["calling_sid"] = normalise_mac(given["calling_sid"], "calling_sid")
    if given["ifname"] is not None:
        filters["ifname"] = check_ifname("ifname", given["ifname"])
    if given["sid"] is not None:
        filters["sid"] = check_sid("sid", given["sid"])
    return filters


def accel_ppp_module(with_session_filters: bool = False, **options: dict) -> AnsibleModule:
    """The AnsibleModule of an accel_ppp_* module: the connection options, the session filters
    when asked, and the module's own options. Every one of them runs in check mode (each
    decides what it does there)."""
    argument_spec = accel_ppp_argument_spec()
    if with_session_filters:
        argument_spec.update(session_filter_spec())
    argument_spec.update(options)
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)


def cli_from_params(params: dict) -> AccelPppCli:
    """A client for the connection options in params (checked: raises AccelPppInputError)."""
    return AccelPppCli(
        host=params["host"],
        port=params["port"],
        password=params["password"],
        timeout=params["timeout"],
        netns=params["netns"],
    )


@contextlib.contextmanager
def fail_on_error(module, result: dict | None = None) -> Iterator[None]:
    """Turn the collection's typed errors into module.fail_json(msg=...).

    result (read when the error happens, so a module can record progress in it) is returned
    with the failure. The exception's class name is returned as `error` so that playbooks can
    tell an unreachable CLI from a refused command; command errors also return command and reply.
    """
    try:
        yield
    except AccelPppCommandError as exc:
        module.fail_json(
            msg=str(exc), **(result or {}), error=type(exc).__name__, command=exc.command, reply=exc.reply
        )
    except (AccelPppError, PppoeKernelError) as exc:
        module.fail_json(msg=str(exc), **(result or {}), error=type(exc).__name__)


@contextlib.contextmanager
def accel_ppp_cli(module, result: dict | None = None) -> Iterator[AccelPppCli]:
    """The client of the module's connection options, in fail_on_error(module, result): what
    the `with` block raises, and a refused option, fail the module."""
    with fail_on_error(module, result):
        yield cli_from_params(module.params)
