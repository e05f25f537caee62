"""Read a large .xlsx worksheet in blocks of rows, so its cells are never all in memory at once.

python-calamine (0.9) loads a whole sheet into its own cell array before Python sees the first
value: about 100 bytes per cell, 1.2 GB for a 100,000-row 问卷星 export of 117 columns, on top of
the Python values built from it. For a sheet whose XML is larger than :data:`BLOCK_BYTES`, the
XML is streamed out of the zip and cut after a ``</row>``; each block becomes a small uncompressed
workbook (the original workbook, styles and shared strings, and that block of rows) which calamine
reads. Dates, shared strings and number formats thus go through the same code as for a small file,
and the rows come out exactly as calamine gives them for the whole sheet (same values, same
positions, blank cells as ``""``).

A sheet that cannot be cut safely — a row without its ``r`` (row number) attribute at the start
of a block, rows out of order, no ``<sheetData>`` — is reported as :class:`Unsuitable`; the
caller then reads it whole.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jianfu import parallel

__all__ = ["BLOCK_BYTES", "SheetRows", "Unsuitable", "read_rows", "sheet_part"]

#: Sheet XML per block. 32 MB of XML holds about a million cells of a shared-string export, which
#: calamine holds in about 100 MB.
BLOCK_BYTES = 32 * 2**20

_READ = 4 * 2**20
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


class Unsuitable(Exception):
    """The sheet's XML cannot be cut into blocks safely; read it whole instead."""


@dataclass
class SheetRows:
    """A sheet's rows as calamine's ``iter_rows()`` gives them for the whole sheet.

    ``rows[i]`` is spreadsheet row ``i + 1`` (leading blank rows included), starting at the
    0-based column ``first_column``; every row has the sheet's used width. ``has_formulas`` says
    whether any cell of the sheet holds a formula.
    """

    rows: list[list]
    first_column: int
    has_formulas: bool


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sheet_part(zf: zipfile.ZipFile, sheet: str) -> zipfile.ZipInfo | None:
    """The zip entry holding worksheet ``sheet`` (by its name in the workbook), or None."""
    try:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    rel_id = next(
        (el.get(f"{{{_REL_NS}}}id") for el in book.iter() if _local(el.tag) == "sheet" and el.get("name") == sheet),
        None,
    )
    target = next((el.get("Target") for el in rels.iter() if el.get("Id") == rel_id), None)
    if rel_id is None or not target:
        return None
    name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    by_name = {info.filename.lower(): info for info in zf.infolist()}
    return by_name.get(name.lower())


def _workbook_parts(zf: zipfile.ZipFile, sheet: zipfile.ZipInfo) -> dict[str, bytes]:
    """What calamine needs besides the sheet: the package and workbook parts, styles, shared strings.

    Only top-level parts and those directly in ``xl/`` are copied: pictures, drawings, other
    sheets and pivot caches are never read for one sheet's values.
    """
    keep = {}
    for info in zf.infolist():
        folder = posixpath.dirname(info.filename)
        if info.filename != sheet.filename and folder in ("", "_rels", "xl", "xl/_rels"):
            keep[info.filename] = zf.read(info)
    return keep


def _split(fh, block_bytes: int) -> tuple[bytes, bytes, bytes, Iterator[bytes]]:
    """The namespace prefix, the XML before the rows (without ``<dimension>``), the closing tags, the blocks of rows."""
    head = b""
    while (match := _SHEET_DATA.search(head)) is None:
        data = fh.read(_READ)
        if not data:
            raise Unsuitable("no <sheetData>")
        head += data
    if match.group(2):  # <sheetData/>: no rows at all
        raise Unsuitable("empty <sheetData/>")
    ns = match.group(1) or b""
    prefix = _DIMENSION.sub(b"", head[: match.end()])
    closing = b"</" + ns + b"sheetData></" + ns + b"worksheet>"
    return ns, prefix, closing, _blocks(fh, bytearray(head[match.end() :]), ns, block_bytes)


def _blocks(fh, buf: bytearray, ns: bytes, block_bytes: int) -> Iterator[bytes]:
    row_end = b"</" + ns + b"row>"
    data_end = b"</" + ns + b"sheetData>"
    stop = buf.find(data_end)
    searched = len(buf)
    while True:
        while stop < 0 and len(buf) < block_bytes:
            data = fh.read(_READ)
            if not data:
                raise Unsuitable("the XML ends inside <sheetData>")
            buf += data
            stop = buf.find(data_end, max(0, searched - len(data_end)))
            searched = len(buf)
        if 0 <= stop <= block_bytes:
            if stop:
                yield bytes(memoryview(buf)[:stop])
            return
        cut = buf.rfind(row_end, 0, block_bytes)
        if cut < 0:  # one row longer than a block: take it whole
            cut = buf.find(row_end)
            if cut < 0 or (0 <= stop < cut):
                block_bytes *= 2
                continue
        cut += len(row_end)
        yield bytes(memoryview(buf)[:cut])
        del buf[:cut]
        if stop >= 0:
            stop -= cut
        searched = max(0, searched - cut)


def _formula_in(block: bytes, ns: bytes) -> bool:
    # Every formula has text somewhere (a shared formula's master, an array formula), so one
    # closing tag is enough; <f t="shared" si="0"/> alone never occurs.
    return b"</" + ns + b"f>" in block


def _write_book(fh, parts: dict[str, bytes], name: str, xml: tuple[bytes, ...]) -> None:
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as out:
        for part, body in parts.items():
            out.writestr(part, body)
        with out.open(name, "w", force_zip64=True) as w:
            for piece in xml:
                w.write(piece)


def _read_block(parts: dict[str, bytes], name: str, xml: tuple[bytes, ...], sheet: str):
    """The sheet, as calamine reads it, from a small uncompressed workbook of ``parts`` and the sheet XML ``xml``."""
    from python_calamine import CalamineWorkbook

    if _MEMFD:
        # An anonymous file in memory (never on disk: the rows hold names and phone numbers) that
        # calamine opens by path; a file-like object would be copied through Python first.
        fd = os.memfd_create("jianfu-block", os.MFD_CLOEXEC)
        try:
            with os.fdopen(fd, "w+b", closefd=False) as fh:
                _write_book(fh, parts, name, xml)
            return CalamineWorkbook.from_path(f"/proc/self/fd/{fd}").get_sheet_by_name(sheet)
        finally:
            os.close(fd)
    book = io.BytesIO()
    _write_book(book, parts, name, xml)
    book.seek(0)
    return CalamineWorkbook.from_filelike(book).get_sheet_by_name(sheet)


def _first_row_numbered(block: bytes, ns: bytes) -> bool:
    start = block.find(b"<" + ns + b"row")
    if start < 0:
        return True
    return re.match(rb"<(?:\w+:)?row\b[^>]*\sr=", block[start : block.find(b">", start) + 1]) is not None


def _unchanged(rows: list[list]) -> list[list]:
    return rows


def read_rows(
    path: str | Path,
    sheet: str,
    convert: Callable[[list[list]], list[list]] = _unchanged,
    block_bytes: int | None = None,
) -> SheetRows | None:
    """The rows of ``sheet`` read block by block, or None when its XML is at most ``block_bytes``.

    ``block_bytes`` defaults to :data:`BLOCK_BYTES` (read when called).
    ``convert`` is applied to each block's rows in the process that reads the block (e.g. to hold
    repeated values once): a module-level function, so that it can be sent to a worker.

    Raises
    ------
    Unsuitable
        The sheet cannot be cut into blocks; read it whole.
    """
    block_bytes = block_bytes or BLOCK_BYTES
    with zipfile.ZipFile(path) as zf:
        part = sheet_part(zf, sheet)
        if part is None:
            raise Unsuitable(f"no worksheet part for {sheet!r}")
        if part.file_size <= block_bytes:
            return None
        parts = _workbook_parts(zf, part)
        pieces: list[tuple[int, int, int, list[list]]] = []  # first row, first and last column, rows
        has_formulas = False
        with zf.open(part) as fh:
            ns, prefix, closing, blocks = _split(fh, block_bytes)
            # One block per computing process at a time (jianfu.parallel): the workers read theirs
            # while this process reads the newest, so a big sheet is parsed on every core.
            batch: list[parallel.Pending] = []
            for i, block in enumerate(blocks):
                if i and not _first_row_numbered(block, ns):
                    raise Unsuitable("a block starts with a row without its number")
                has_formulas = has_formulas or _formula_in(block, ns)
                xml = (prefix, block, closing)
                batch.append(parallel.offload(_block_rows, parts, part.filename, xml, sheet, convert))
                del block, xml
                if len(batch) >= parallel.processes():
                    _collect(batch, pieces)
            _collect(batch, pieces)
    return _assemble(pieces, has_formulas)


def _block_rows(
    parts: dict[str, bytes], name: str, xml: tuple[bytes, ...], sheet: str, convert: Callable[[list[list]], list[list]]
):
    """``(first cell, last cell, rows)`` of one block as calamine reads it, or None for blank rows only."""
    ws = _read_block(parts, name, xml, sheet)
    if ws.start is None:
        return None
    return ws.start, ws.end, convert(ws.to_python(skip_empty_area=True))


def _collect(batch: list, pieces: list) -> None:
    """Append the rows of a batch of blocks to ``pieces``, in sheet order; empties ``batch``."""
    done = parallel.gather(batch)  # the newest is read here while the worker reads the others
    batch.clear()
    for result in done:
        if result is None:  # a block of blank rows
            continue
        (r0, c0), (_, c1), rows = result
        next_row = pieces[-1][0] + len(pieces[-1][3]) if pieces else 0
        if r0 < next_row:
            raise Unsuitable("rows out of order")
        pieces.append((r0, c0, c1, rows))


def _assemble(pieces: list[tuple[int, int, int, list[list]]], has_formulas: bool) -> SheetRows:
    """One row list in sheet positions, every row as wide as the whole sheet's used range."""
    if not pieces:
        return SheetRows([], 0, has_formulas)
    left = min(c0 for _, c0, _, _ in pieces)
    right = max(c1 for _, _, c1, _ in pieces)
    width = right - left + 1
    rows: list[list] = []
    for r0, c0, c1, block in pieces:
        rows.extend([""] * width for _ in range(r0 - len(rows)))
        if c0 == left and c1 == right:
            rows.extend(block)
        else:
            before, after = [""] * (c0 - left), [""] * (right - c1)
            rows.extend(before + row + after for row in block)
        block.clear()
    return SheetRows(rows, left, has_formulas)
