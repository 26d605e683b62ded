#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the QEMU lab VM."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: qemu_vm
short_description: Start or stop the QEMU lab VM on the controller
version_added: 0.1.0
description:
  - Boots a lab VM image (a raw or qcow2 disk, a kernel and an initrd, booted directly)
    with QEMU, forwarding a loopback TCP port to the guest's SSH server, and waits until
    the guest's SSH server sends its banner.
  - With O(accel=auto), KVM is tried first and judged by the serial console; if QEMU refuses
    to start with KVM, or the guest kernel prints nothing within O(kvm_probe_timeout) seconds,
    the VM is killed and booted again with TCG (software emulation). The verdict is remembered
    until the host reboots.
  - A VM that does not answer SSH within O(boot_timeout) seconds is stopped and the module
    fails with the last lines of its serial console.
  - Stopping asks the guest to power off over QMP (ACPI), then QEMU to quit, then kills it.
  - Used by the role isplab.bng.lab_vm, which builds the image and writes the inventory.
author: isplab.bng maintainers (@isplab)
options:
  name:
    description: Name of the VM; also marks its QEMU process.
    type: str
    required: true
  state:
    description: V(started) boots the VM unless it already runs; V(stopped) stops it.
    type: str
    choices: [started, stopped]
    default: started
  state_dir:
    description: Directory for the pid file, QMP socket and serial console log of this VM.
    type: path
    required: true
  disk:
    description: Disk image (V(.qcow2) is opened as qcow2, anything else as raw).
    type: path
  kernel:
    description: Kernel booted directly by QEMU.
    type: path
  initrd:
    description: Initial ramdisk booted with O(kernel).
    type: path
  append:
    description: Extra kernel command line (root, serial console and interface naming are set).
    type: str
    default: ""
  ssh_port:
    description: Loopback TCP port on the controller forwarded to the guest's port 22.
    type: int
    default: 2222
  memory_mb:
    description: Guest memory in MiB.
    type: int
    default: 3072
  cpus:
    description: Guest CPUs.
    type: int
    default: 2
  snapshot:
    description: Discard every write at power-off, so that each boot starts from the pristine disk.
    type: bool
    default: true
  accel:
    description: V(auto) tries KVM and falls back to TCG; V(kvm) or V(tcg) force one.
    type: str
    choices: [auto, kvm, tcg]
    default: auto
  kvm_probe_timeout:
    description: Seconds a KVM guest has to print its first kernel line.
    type: float
    default: 15
  boot_timeout:
    description: Seconds the guest has to answer SSH.
    type: float
    default: 300
  stop_timeout:
    description: Seconds the guest has to power off before QEMU is told to quit.
    type: float
    default: 60
  qemu_binary:
    description: QEMU system emulator to run.
    type: str
    default: qemu-system-x86_64
attributes:
  check_mode:
    support: full
    description: Reports whether the VM would be started or stopped, and does nothing.
  diff_mode:
    support: none
    description: Reports no diff.
"""

EXAMPLES = r"""
- name: Boot the lab VM from a pristine disk
  isplab.bng.qemu_vm:
    name: isplab
    state_dir: /root/.cache/isplab-bng/vm/isplab
    disk: /root/.cache/isplab-bng/images/0123abcd/rootfs.img
    kernel: /root/.cache/isplab-bng/images/0123abcd/vmlinuz
    initrd: /root/.cache/isplab-bng/images/0123abcd/initrd.img
    ssh_port: 2222

- name: Stop it
  isplab.bng.qemu_vm:
    name: isplab
    state_dir: /root/.cache/isplab-bng/vm/isplab
    state: stopped
"""

RETURN = r"""
pid:
  description: Process id of QEMU (started).
  returned: when O(state=started)
  type: int
accel:
  description:
    - The accelerator the VM runs with, V(kvm) or V(tcg).
    - V(unknown) for a VM that was already running.
  returned: when O(state=started)
  type: str
boot_seconds:
  description: Seconds from the first QEMU start to the SSH banner (including a failed KVM probe).
  returned: when the module booted the VM
  type: float
notes:
  description: What happened on the way, e.g. a fallback from KVM to TCG.
  returned: always
  type: list
  elements: str
console_log:
  description: File that receives the guest's serial console.
  returned: always
  type: str
how:
  description: How the VM was stopped (V(powered off), V(quit), V(killed), V(not running)).
  returned: when O(state=stopped)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.isplab.bng.plugins.module_utils._qemu import (
    QemuError,
    VmSpec,
    read_pid,
    ssh_answers,
    start,
    stop,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
            "state_dir": {"type": "path", "required": True},
            "disk": {"type": "path"},
            "kernel": {"type": "path"},
            "initrd": {"type": "path"},
            "append": {"type": "str", "default": ""},
            "ssh_port": {"type": "int", "default": 2222},
            "memory_mb": {"type": "int", "default": 3072},
            "cpus": {"type": "int", "default": 2},
            "snapshot": {"type": "bool", "default": True},
            "accel": {"type": "str", "choices": ["auto", "kvm", "tcg"], "default": "auto"},
            "kvm_probe_timeout": {"type": "float", "default": 15},
            "boot_timeout": {"type": "float", "default": 300},
            "stop_timeout": {"type": "float", "default": 60},
            "qemu_binary": {"type": "str", "default": "qemu-system-x86_64"},
        },
        required_if=[("state", "started", ("disk", "kernel", "initrd"))],
        supports_check_mode=True,
    )
    params = module.params
    spec = VmSpec(
        name=params["name"],
        state_dir=params["state_dir"],
        disk=params["disk"] or "",
        kernel=params["kernel"] or "",
        initrd=params["initrd"] or "",
        ssh_port=params["ssh_port"],
        memory_mb=params["memory_mb"],
        cpus=params["cpus"],
        snapshot=params["snapshot"],
        append=params["append"],
        qemu_binary=params["qemu_binary"],
    )
    running = read_pid(spec)
    result = {"changed": False, "notes": [], "console_log": spec.console_log}

    if params["state"] == "stopped":
        if running is None:
            module.exit_json(how="not running", **result)
        result["changed"] = True
        if module.check_mode:
            module.exit_json(how="would stop", **result)
        module.exit_json(how=stop(spec, params["stop_timeout"]), **result)

    if running is not None:
        if not ssh_answers(spec.ssh_port):
            module.fail_json(
                msg=f"the lab VM {spec.name!r} runs (pid {running}) but does not answer SSH on "
                f"127.0.0.1:{spec.ssh_port}; stop it (state=stopped) and start it again",
                **result,
            )
        module.exit_json(pid=running, accel="unknown", **result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)
    try:
        result.update(start(spec, params["accel"], params["kvm_probe_timeout"], params["boot_timeout"]))
    except QemuError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
