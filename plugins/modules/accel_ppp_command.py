#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one raw command on accel-ppp's CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accel_ppp_command
short_description: Run a raw command on accel-ppp's CLI
version_added: 0.1.0
description:
  - Sends one command line to accel-ppp's CLI and returns the reply.
  - An error reply (C(command unknown), C(syntax error), C(invalid argument), C(command failed),
    C(unknown column X), a C(match) regex error, C(error) lines, C(No such device)) fails the
    module, where accel-cmd would exit 0.
  - Prefer the dedicated modules (M(isplab.bng.accel_ppp_session_info),
    M(isplab.bng.accel_ppp_session), M(isplab.bng.accel_ppp_pppoe),
    M(isplab.bng.accel_ppp_stat_info)), which are idempotent and parse the replies.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - isplab.bng.accel_ppp
options:
  command:
    description:
      - The command line, for example V(show sessions ifname,username) or V(reload).
      - A line break, a control character, more than 100 words or more than 1022 bytes are
        refused before connecting; the CLI has no quoting, so no word can contain a blank.
    type: str
    required: true
  changes:
    description:
      - Report RV(ignore:changed=true) after running the command. The module cannot know what a raw
        command does, so it reports no change unless told.
    type: bool
    default: false
  read_only:
    description:
      - The command only reads, so it also runs in check mode.
      - Only commands that accel-ppp 1.14.0 only reads with are taken as such (C(help),
        C(show stat), C(show version), C(show sessions ...), C(show ippool), C(pppoe show ...),
        C(pppoe interface show), C(pppoe mac-filter show)); any other command with
        O(read_only=true) fails before connecting, in check mode or not.
      - Cannot be combined with O(changes=true).
    type: bool
    default: false
attributes:
  check_mode:
    support: partial
    description: Can run in check mode.
    details: Runs the command only when O(read_only=true); otherwise reports it as skipped.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Reload accel-ppp's configuration
  isplab.bng.accel_ppp_command:
    command: reload
    changes: true

- name: Read the PADO delay, also in check mode
  isplab.bng.accel_ppp_command:
    command: pppoe show PADO-delay
    read_only: true
  register: pado
"""

RETURN = r"""
stdout:
  description:
    - The reply, with the CLI's CRLF line ends turned into LF.
    - Empty for commands that answer nothing (C(terminate), C(reload), C(pppoe set)).
  returned: when the command ran
  type: str
  sample: "0\n"
stdout_lines:
  description: The reply split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: ["0"]
"""

from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_cli import (
    check_line,
    is_read_only,
    read_only_commands,
)
from ansible_collections.isplab.bng.plugins.module_utils._accel_ppp_module import (
    accel_ppp_cli,
    accel_ppp_module,
)


def main() -> None:
    module = accel_ppp_module(
        command={"type": "str", "required": True},
        changes={"type": "bool", "default": False},
        read_only={"type": "bool", "default": False},
    )
    params = module.params
    if params["changes"] and params["read_only"]:
        module.fail_json(msg="changes=true and read_only=true contradict each other")

    with accel_ppp_cli(module, {"changed": False}) as cli:
        command = check_line("command", params["command"])
        if params["read_only"] and not is_read_only(command):
            module.fail_json(
                msg=f"read_only=true, but {command!r} is not one of the commands known to only read "
                f"({read_only_commands()}): it was not run",
                changed=False,
            )
        if module.check_mode and not params["read_only"]:
            module.exit_json(
                changed=params["changes"],
                skipped=True,
                msg="not run in check mode: set read_only=true for a command that only reads",
            )
        reply = cli.command(command).replace("\r\n", "\n")
    module.exit_json(changed=params["changes"], stdout=reply, stdout_lines=reply.splitlines())


if __name__ == "__main__":
    main()
