# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation shared by the accel_ppp_* modules: the CLI connection options (the default
fragment, isplab.bng.accel_ppp) and the attributes of those that only read
(isplab.bng.accel_ppp.read_only)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Numeric IPv4 or IPv6 address of accel-ppp's CLI (C([cli] tcp=ADDR:PORT) in accel-ppp.conf).
      - Host names are refused on purpose, so that a namespace without an address of the name's
        family cannot make the lookup fail.
    type: str
    default: 127.0.0.1
  port:
    description: TCP port of accel-ppp's CLI.
    type: int
    default: 2001
  password:
    description:
      - The CLI password (C([cli] password=)); omit it when the CLI has none.
      - A wrong password, a password sent to a CLI that has none, or none sent to a CLI that
        asks for one, fails the module with a message that says so (never a silent success;
        C(terminate) and C(reload) answer nothing when they work).
    type: str
  timeout:
    description:
      - Seconds allowed for each CLI exchange, connecting and reading the whole reply; the
        module fails when they run out instead of hanging.
    type: float
    default: 10
  netns:
    description:
      - Name of a network namespace (as listed by C(ip netns)) to connect from, for an
        accel-pppd that runs in a namespace and listens on an address there.
      - The CLI connection (and the read of C(/proc/net/pppoe) where a module does one) is made
        there from a short-lived thread; the rest of the module stays where it runs. Needs root.
    type: str
notes:
  - Every command uses its own TCP connection, as accel-ppp's CLI requires; values that contain
    blanks, line breaks or control characters are refused before connecting, because the CLI
    has no quoting and a line break would start a second command.
  - Every command is sent between two C(show version) on its connection; the reply must start
    and end with their answer, so a reply cut off by the network or a stopping accel-pppd fails
    the module instead of coming back shorter. A reply over 16 MiB (every column of about
    60,000 sessions) fails too; ask for fewer columns or use a match.
requirements:
  - accel-ppp with its CLI module and C([cli] tcp=) set (tested with 1.14.0).
"""

    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    description: Reports no diff.
"""
