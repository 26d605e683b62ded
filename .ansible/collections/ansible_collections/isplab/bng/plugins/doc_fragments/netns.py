# SPDX-License-Identifier: GPL-3.0-or-later
"""What the netns_* modules share in their documentation: requirements and attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # Used with ansible.builtin.action_common_attributes, which describes the attributes; each
    # module adds its own diff_mode (what its diff shows).
    DOCUMENTATION = r"""
requirements:
  - pyroute2 0.7 on the target (Debian 12 package C(python3-pyroute2))
  - root (or CAP_SYS_ADMIN) on the target
attributes:
  check_mode:
    support: full
  platform:
    support: full
    platforms: posix
"""
