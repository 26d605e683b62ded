#!/usr/bin/python
# SPDX-License-Identifier: GPL-3.0-or-later
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many small files in one directory, written in one module call.

Why a module of our own: ansible.builtin.template or copy in a loop is one module run per file,
and each run costs seconds on a slow target (a lab VM under software emulation: about 4 s), so
the peers files of 200 subscribers took many minutes. This writes them all in one run, with the
same guarantees: atomic replacement per file, mode and owner, a validate command, check mode,
and every file validated before any is written.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_set
short_description: Write a set of files into one directory in one call
version_added: 0.1.0
description:
  - Writes every file of O(files) into the directory O(path), each replaced atomically and
    only when its content, mode or owner differs; optionally removes the files of the
    directory that are not in the set (O(exclusive)).
  - Every new content is checked with O(validate) before any file is written, so a bad entry
    changes nothing.
  - Contents are treated as secrets (they may hold credentials); they never appear in the
    module's output, which lists the names written and removed.
  - One module run for hundreds of files, where M(ansible.builtin.template) in a loop is one
    run per file.
author: isplab.bng maintainers (@isplab)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: The directory. It must exist.
    type: path
    required: true
  files:
    description:
      - File name (no directory part) to content.
    type: dict
    required: true
  mode:
    description: The mode of every file, as an octal string.
    type: str
    default: "0644"
  owner:
    description: The owner of every file; unset keeps the owner (root for new files).
    type: str
  group:
    description: The group of every file; unset keeps the group.
    type: str
  validate:
    description:
      - A command that checks a file before it is written; C(%s) stands for the path of a
        temporary copy. It runs without a shell.
    type: str
  exclusive:
    description:
      - Remove the regular files and symbolic links of O(path) that are not in O(files).
        Directories in O(path) are left alone.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Validates and reports what would be written and removed; writes nothing.
  diff_mode:
    support: none
    details: Contents may be secrets.
  platform:
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Write each subscriber's peers file (mode 0600, checked by pppd)
  isplab.bng.file_set:
    path: /etc/ppp/peers/isplab
    files: "{{ dict(subscribers | map(attribute='name') | zip(subscribers | map('isplab_peer_text'))) }}"
    mode: "0600"
    validate: /usr/sbin/pppd file %s pty /bin/true dryrun
    exclusive: true
  register: peers
"""

RETURN = r"""
written:
  description: The names of the files written (new or changed content, mode or owner).
  returned: always
  type: list
  elements: str
  sample: [cpe1, cpe7]
removed:
  description: The names of the files removed (O(exclusive)).
  returned: always
  type: list
  elements: str
  sample: [cpe11]
"""

import os
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes


def _bad_name(name):
    return not name or "/" in name or name in (".", "..") or "\0" in name


def _differs(path, content):
    try:
        with open(path, "rb") as current:
            return current.read() != content
    except FileNotFoundError:
        return True


def _validate(module, directory, name, content):
    with tempfile.NamedTemporaryFile(dir=module.tmpdir, prefix="file_set-") as tmp:
        tmp.write(content)
        tmp.flush()
        argv = [
            tmp.name if word == "%s" else word.replace("%s", tmp.name)
            for word in shlex.split(module.params["validate"])
        ]
        rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(
            msg=(
                f"files[{name}]: the validate command refused it (rc {rc}), nothing was written in "
                f"{directory}: {' '.join((out.strip(), err.strip())).strip()}"
            ),
            written=[],
            removed=[],
        )


def _attributes(module, path):
    attributes = module.load_file_common_arguments({"path": path, "mode": module.params["mode"]})
    attributes.update(owner=module.params["owner"], group=module.params["group"])
    return attributes


def _replace(module, directory, name, content):
    """Write a temporary file beside the target, give it its mode and owner, rename it over.

    Not AnsibleModule.atomic_move: it makes a new file 0644 (umask) after the rename and gives
    a replaced one the old file's mode, so a credential could be readable for an instant or
    keep a wrong mode.
    """
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        module.set_fs_attributes_if_different(_attributes(module, tmp), False)
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "files": {"type": "dict", "required": True, "no_log": True},
            "mode": {"type": "str", "default": "0644"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "validate": {"type": "str"},
            "exclusive": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    directory = module.params["path"]
    files = module.params["files"]
    validate = module.params["validate"]
    if validate is not None and "%s" not in validate:
        module.fail_json(msg=f"validate must contain %s (where the file goes): {validate!r}")
    try:
        int(module.params["mode"], 8)
    except ValueError:
        module.fail_json(msg=f"mode: not an octal mode: {module.params['mode']!r}")
    bad = sorted(name for name in files if _bad_name(name))
    if bad:
        module.fail_json(msg=f"files: names must be plain file names, not paths: {bad}")
    not_text = sorted(name for name, content in files.items() if not isinstance(content, str))
    if not_text:
        module.fail_json(msg=f"files: the content of {not_text} is not a string")
    if not os.path.isdir(directory):
        module.fail_json(msg=f"path: {directory} is not a directory")

    contents = {name: to_bytes(content, errors="surrogate_or_strict") for name, content in files.items()}
    new_content = sorted(
        name for name, content in contents.items() if _differs(os.path.join(directory, name), content)
    )
    removed = []
    if module.params["exclusive"]:
        removed = sorted(
            entry.name
            for entry in os.scandir(directory)
            if entry.name not in files and (entry.is_symlink() or entry.is_file(follow_symlinks=False))
        )

    # Validation changes nothing, so check mode runs it too: a bad entry fails there as well.
    if validate is not None:
        for name in new_content:
            _validate(module, directory, name, contents[name])

    written = set(new_content)
    for name in sorted(files):
        target = os.path.join(directory, name)
        if name in new_content:
            if module.check_mode:
                continue
            _replace(module, directory, name, contents[name])
        else:
            if module.set_fs_attributes_if_different(_attributes(module, target), module.check_mode):
                written.add(name)
    if not module.check_mode:
        for name in removed:
            os.unlink(os.path.join(directory, name))

    written = sorted(written)
    module.exit_json(changed=bool(written or removed), written=written, removed=removed)


if __name__ == "__main__":
    main()
