# SPDX-License-Identifier: GPL-3.0-or-later
"""The BNG failover agent, in parts (docs/architecture.md draws them).

Private to the isplab.bng collection: no stability promise outside it.

config and control are what the modules and filters import; the rest is the agent, which the
role bng_failover copies onto each BNG. Nothing is imported here, so that loading config or
control loads nothing else.
"""

from __future__ import annotations
