"""Read one spreadsheet one way and nothing else: the parse floors of `make bench`.

    python benchmarks/readers.py MODE FILE

MODE is one of:

* ``calamine`` — python-calamine, every cell to Python values (``to_python``): the floor the targets use;
* ``fastexcel`` — fastexcel to an Arrow table (no Python objects per cell);
* ``fastexcel-rows`` — fastexcel, then the cells as Python rows, which jianfu's reader hands on;
* ``jianfu`` — :func:`jianfu.ingest.readers.read_sheet`: the safety checks (size, container, zip bomb,
  macros, formulas), calamine, and one copy of each distinct value.
"""

import sys


def read(mode: str, path: str) -> None:
    if mode == "calamine":
        from python_calamine import CalamineWorkbook

        CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    elif mode in ("fastexcel", "fastexcel-rows"):
        import fastexcel

        # No header row: finding the header is jianfu's job, as with calamine.
        table = fastexcel.read_excel(path).load_sheet(0, header_row=None).to_arrow()
        if mode == "fastexcel-rows":
            columns = [column.to_pylist() for column in table.columns]
            [list(row) for row in zip(*columns, strict=True)]
    elif mode == "jianfu":
        from jianfu.ingest.readers import RawSheet, read_sheet

        if not isinstance(read_sheet(path), RawSheet):
            raise SystemExit(f"{path}: not readable")
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    read(sys.argv[1], sys.argv[2])
