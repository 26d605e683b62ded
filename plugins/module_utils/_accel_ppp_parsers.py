# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers for the text replies of accel-ppp's CLI (verified against accel-ppp 1.14.0).

Private to the isplab.bng collection: no stability promise outside it.

Pure functions: text in, plain data out (dicts and lists that JSON-serialise as they are).
They raise ParseError when the text is not the shape they expect, never guess.
"""

from __future__ import annotations

import re

# Columns that `show sessions` renders as plain integers; the human-readable columns
# (uptime, rx-bytes, tx-bytes) stay strings.
INT_COLUMNS = frozenset({"uptime-raw", "rx-bytes-raw", "tx-bytes-raw", "rx-pkts", "tx-pkts"})

_SEPARATOR_RE = re.compile(r"^-+(?:\+-+)*$")
_INT_RE = re.compile(r"^-?\d+$")
_PAIR_PAREN_RE = re.compile(r"^(?P<a>-?\d+)\((?P<b>-?\d+)\)$")
_SLASH_KEY_RE = re.compile(r"^(?P<name>[^()]+)\((?P<a>[^()/]+)/(?P<b>[^()/]+)\)$")
_PAREN_KEY_RE = re.compile(r"^(?P<name>[^()]+)\((?P<b>[^()]+)\)$")
_UPTIME_RE = re.compile(r"^(?P<d>\d+)\.(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)$")
_KEY_CHARS_RE = re.compile(r"[^a-z0-9]+")


class ParseError(ValueError):
    """The text is not what the parser expects (e.g. an error line or a truncated reply)."""


def column_key(column: str) -> str:
    """Key of a `show sessions` column in parsed rows: `calling-sid` -> `calling_sid`."""
    return column.replace("-", "_")


def _lines(text: str) -> list[str]:
    # The CLI ends lines with \r\n; splitlines() would also split on other characters
    # (\x0b, \x1c, U+2028...) that may appear inside a value, so split on \n only.
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _split_row_by_width(line: str, widths: list[int]) -> list[str]:
    # accel-ppp pads cells to widths counted in bytes, so slice the UTF-8 bytes, not characters.
    data = line.encode("utf-8")
    cells = []
    pos = 0
    for width in widths:
        cells.append(data[pos : pos + width].decode("utf-8", errors="replace"))
        pos += width + 1  # the "|" between cells
    return cells


def parse_sessions(text: str, columns: list[str] | None = None) -> list[dict]:
    """Parse a `show sessions` table (any column set) into one dict per session.

    Keys are the column names with `-` turned into `_`; empty cells are None; the columns in
    INT_COLUMNS are ints. A table with a header and no rows gives an empty list. With columns,
    a header of other columns is refused (a different server, or a request that was not ours).

    accel-ppp pads every cell, so every line is as long as the separator row, and every line
    ends in a line break: a table that is not, was cut off, and is refused rather than read.
    """
    if text and not text.endswith("\n"):
        raise ParseError(f"session table cut off in the middle of a line: ...{text[-80:]!r}")
    lines = [line for line in _lines(text) if line != ""]
    if len(lines) < 2:
        raise ParseError(f"not a session table (fewer than two lines): {text[:200]!r}")
    header, separator = lines[0], lines[1]
    if not _SEPARATOR_RE.match(separator):
        raise ParseError(f"not a session table (no separator row after the header): {text[:200]!r}")
    header_columns = [cell.strip(" ") for cell in header.split("|")]
    widths = [len(part) for part in separator.split("+")]
    if len(header_columns) != len(widths) or not all(header_columns):
        raise ParseError(f"session table header does not match its separator row: {header!r}")
    if columns is not None and header_columns != list(columns):
        raise ParseError(f"the table has the columns {header_columns}, not those asked for {list(columns)}")
    keys = [column_key(column) for column in header_columns]
    int_keys = [column_key(column) for column in header_columns if column in INT_COLUMNS]
    ncols = len(header_columns)
    width = len(separator.encode("utf-8"))

    rows = []
    for number, line in enumerate(lines[2:], start=1):
        if len(line.encode("utf-8")) != width:
            raise ParseError(
                f"session table row {number} is {len(line.encode('utf-8'))} bytes wide, "
                f"not the header's {width} (cut off, or not accel-ppp's table): {line[:120]!r}"
            )
        cells = line.split("|")
        if len(cells) != ncols:
            # A value that contains "|" itself: fall back to the column widths.
            cells = _split_row_by_width(line, widths)
        row = {key: cell.strip(" ") or None for key, cell in zip(keys, cells, strict=True)}
        for key in int_keys:
            value = row[key]
            if value is not None:
                if not _INT_RE.match(value):
                    raise ParseError(f"column {key!r} should be an integer, got {value!r} in row {line!r}")
                row[key] = int(value)
        rows.append(row)
    return rows


def _stat_key(name: str) -> str:
    return _KEY_CHARS_RE.sub("_", name.lower()).strip("_")


def _stat_entries(name: str, value: str) -> dict:
    """One `name: value` line of `show stat` / `show ippool` as typed key/value pairs.

    Packed figures are split: `recv PADR(dup): 4(0)` -> recv_padr=4, recv_padr_dup=0;
    `mem(rss/virt): 5432/175140 kB` -> mem_rss_kb=5432, mem_virt_kb=175140.
    """
    unit = ""
    figures = value
    if value.endswith(" kB"):
        unit, figures = "_kb", value[:-3]
    elif value.endswith("%") and _INT_RE.match(value[:-1]):
        return {f"{_stat_key(name)}_percent": int(value[:-1])}

    slash_key = _SLASH_KEY_RE.match(name)
    if slash_key:
        parts = figures.split("/")
        if len(parts) == 2 and all(_INT_RE.match(part) for part in parts):
            base = _stat_key(slash_key["name"])
            return {
                f"{base}_{_stat_key(slash_key['a'])}{unit}": int(parts[0]),
                f"{base}_{_stat_key(slash_key['b'])}{unit}": int(parts[1]),
            }
    paren_key = _PAREN_KEY_RE.match(name)
    pair = _PAIR_PAREN_RE.match(figures)
    if paren_key and pair:
        base = _stat_key(paren_key["name"])
        return {base: int(pair["a"]), f"{base}_{_stat_key(paren_key['b'])}": int(pair["b"])}

    key = _stat_key(name) + unit
    if _INT_RE.match(figures):
        return {key: int(figures)}
    uptime = _UPTIME_RE.match(value)
    if uptime:
        seconds = ((int(uptime["d"]) * 24 + int(uptime["h"])) * 60 + int(uptime["m"])) * 60 + int(uptime["s"])
        return {key: value, f"{key}_seconds": seconds}
    return {key: value}


def parse_stat(text: str) -> dict:
    """Parse `show stat` into nested dicts: sections (`core:`, `pppoe:`...) become dicts.

    Keys are lower case with runs of other characters as `_` (`delayed PADO` -> delayed_pado);
    integers are ints, percentages `<key>_percent`, `uptime` also as `uptime_seconds`.
    """
    root: dict = {}
    # (indent of the section's entries, dict) from the outermost section inwards.
    stack: list[tuple[int, dict]] = [(0, root)]
    pending_section: dict | None = None
    seen_any = False
    for line in _lines(text):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        content = line.strip()
        if pending_section is not None:
            if indent > stack[-1][0]:
                stack.append((indent, pending_section))
            pending_section = None
        while len(stack) > 1 and indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            raise ParseError(f"show stat: unexpected indentation in {line!r}")
        target = stack[-1][1]
        name, sep, value = content.partition(": ")
        if sep:
            target.update(_stat_entries(name, value.strip()))
        elif content.endswith(":"):
            pending_section = target.setdefault(_stat_key(content[:-1]), {})
        else:
            raise ParseError(f"show stat: not a 'key: value' line: {line!r}")
        seen_any = True
    if not seen_any:
        raise ParseError("show stat: empty reply")
    return root


def parse_pppoe_interfaces(text: str) -> list[dict]:
    """Parse `pppoe interface show`: [{'interface': 'eth0', 'connections': 4, 'state': 'active'}].

    state is `active` or `stop` (being stopped). Columns come from the header; the last one
    takes the rest of the line, so a later accel-ppp's extra multi-word column still parses.
    """
    lines = [line for line in _lines(text) if line.strip()]
    if len(lines) < 2 or not lines[0].rstrip().endswith(":") or set(lines[1].strip()) != {"-"}:
        raise ParseError(f"not a pppoe interface table: {text[:200]!r}")
    columns = [_stat_key(word.rstrip(":")) for word in lines[0].split()]
    rows = []
    for line in lines[2:]:
        cells = line.split(None, len(columns) - 1)
        if len(cells) != len(columns):
            raise ParseError(f"pppoe interface row has {len(cells)} cells, want {len(columns)}: {line!r}")
        row = {}
        for column, cell in zip(columns, cells, strict=True):
            row[column] = int(cell) if _INT_RE.match(cell) and column != "interface" else cell
        rows.append(row)
    return rows


def parse_ippool(text: str) -> list[dict]:
    """Parse `show ippool`: one dict per pool, e.g.
    {'name': '<default>', 'total': 241, 'used': 0, 'available': 241, 'usage_percent': 0}.
    """
    lines = [line for line in _lines(text) if line.strip()]
    if len(lines) < 2 or not set(lines[1].strip()) <= {"="}:
        raise ParseError(f"not an ip pool report: {text[:200]!r}")
    pools: list[dict] = []
    for line in lines[2:]:
        if not line.startswith(" "):
            pools.append({"name": line.strip()})
            continue
        if not pools:
            raise ParseError(f"ip pool figure before any pool name: {line!r}")
        name, sep, value = line.strip().partition(": ")
        if not sep:
            raise ParseError(f"ip pool: not a 'key: value' line: {line!r}")
        pools[-1].update(_stat_entries(name, value.strip()))
    return pools


def parse_single_value(text: str) -> str:
    """The one line of `show version` or `pppoe show <name>`, without its line end."""
    lines = [line for line in _lines(text) if line != ""]
    if len(lines) != 1:
        raise ParseError(f"expected a one-line reply, got {len(lines)} lines: {text[:200]!r}")
    return lines[0].strip()
