# SPDX-License-Identifier: GPL-3.0-or-later
"""accel-ppp's configuration file read the way accel-pppd 1.14.0 reads it (triton/conf_file.c).

Private to the isplab.bng collection: no stability promise outside it.

The one parser of the file: the role accel_ppp's filters use it to tell what a change needs
(reload or restart), and its checker, accel-ppp-checkconf, to check a file before it is used.
The role installs this file next to the checker on targets that have no Ansible, so it imports
nothing but the standard library.

accel-pppd's rules: lines end at `\\n` only, and it drops the blanks and tabs at both ends of a
line (nothing else: a `\\r` stays); empty and `#` lines are skipped; `[NAME]` opens a section (a
repeated one continues the first); an item is a name up to the first blank, tab or `=`, and a
value only when a `=` or a `,` follows (after blanks): `100.64.1.10-250` is a name without a
value, and in `pppoe  # comment` the name is `pppoe` and the rest is ignored. A header without
`]` and an item before any section make accel-pppd refuse the whole file; they are problems
here. `$include` and `name={` blocks are read as plain items: the role's files use neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# triton/conf_file.c reads lines with fgets() into 1024 bytes: a longer line is cut in two.
CONF_LINE_MAX = 1023
_BLANKS = " \t"


@dataclass(frozen=True)
class ConfItem:
    """One item of a section: its line number (from 1), section, name and value (None if none)."""

    line: int
    section: str
    name: str
    value: str | None


@dataclass(frozen=True)
class ConfProblem:
    """A line accel-pppd refuses or cuts; the message names the line's trouble, never a value."""

    line: int
    message: str


@dataclass
class Conf:
    """A parsed configuration: its items in file order, by section, and its problems."""

    items: list[ConfItem] = field(default_factory=list)
    problems: list[ConfProblem] = field(default_factory=list)
    # Section name -> its (name, value) items; a section without items is here too.
    sections: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)


def split_item(line: str) -> tuple[str, str | None]:
    """(name, value) of an item line without its blanks at the ends, as load_file() splits it.

    The word ends at a blank, a tab or `=`; a blank ends the name there, while a tab or `=`
    leaves it to run to the `=` or `,` that follows (accel-pppd only cuts at a blank or at that
    `=`), so `name\\t=1` is the name `name\\t`.
    """
    end = next((i for i, char in enumerate(line) if char in " \t="), len(line))
    after = end + 1 if line[end : end + 1] == " " else end
    start = after
    while start < len(line) and line[start] in _BLANKS:
        start += 1
    if line[start : start + 1] in ("=", ","):
        name = line[:end] if after != end else line[:start]
        return name, line[start + 1 :].lstrip(_BLANKS)
    return (line[:end] if after != end else line), None


def parse_conf(text: str) -> Conf:
    """Parse a configuration text; line lengths are counted in UTF-8 bytes, as accel-pppd reads
    them (a file decoded with errors='surrogateescape' counts its undecodable bytes right)."""
    conf = Conf()
    section = None
    for number, raw in enumerate(text.split("\n"), 1):
        size = len(raw.encode("utf-8", "surrogateescape")) + 1
        if size > CONF_LINE_MAX:
            conf.problems.append(
                ConfProblem(number, f"line of {size} bytes; accel-ppp cuts lines at {CONF_LINE_MAX}")
            )
        line = raw.strip(_BLANKS)
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if "]" not in line:
                conf.problems.append(ConfProblem(number, "section header without ']'"))
                continue
            section = line[1:].split("]", 1)[0]
            conf.sections.setdefault(section, [])
            continue
        if section is None:
            conf.problems.append(ConfProblem(number, "option outside any section"))
            continue
        name, value = split_item(line)
        conf.items.append(ConfItem(number, section, name, value))
        conf.sections[section].append((name, value))
    return conf
