"""The office's coded list of units for one wave, so a typo never splits a unit in two.

The unit question (``options_from: units`` in the instrument) is answered from a list the HR
office keeps: a YAML file ::

    units:
      - {code: U01, name: 城关镇, level: 乡镇（街道）}
      - {code: U02, name: 城南街道, level: 乡镇（街道）, aliases: [城南办]}

or a sheet with the columns 编码 / 单位名称 / 层级 / 别名 (``code`` / ``name`` / ``level`` /
``aliases``; aliases separated by 、 ; or ,). The template offers the names in a drop-down; at
ingest a name, code or alias (ignoring spaces, full-width forms and case) becomes the unit's
name, and anything else is an invalid cell, reported with the closest names on the list.

Examples
--------
>>> units = parse_units({"units": [{"code": "U01", "name": "城关镇", "aliases": ["城关"]}]}, "units.yaml")
>>> units.lookup["u01"], units.lookup["城关"]
('城关镇', '城关镇')
>>> units.closest("城关真")
['城关镇']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from jianfu.errors import ConfigError
from jianfu.normalize import nfkc, value_key

__all__ = ["Unit", "UnitList", "UnitsError", "load_units", "parse_units"]

#: Accepted headers of a units sheet, normalised with :func:`value_key`.
_HEADERS = {
    "code": ("code", "编码", "单位编码", "代码"),
    "name": ("name", "单位", "单位名称", "名称"),
    "level": ("level", "层级", "单位层级"),
    "aliases": ("aliases", "别名", "其他写法"),
}


class UnitsError(ConfigError):
    """A units list that cannot be used; ``problems`` name the file, row and fix."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(
            f"单位名单有 {len(problems)} 处问题 / the units list has {len(problems)} problem(s): {path}\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class Unit:
    """One unit: its code, the name reports use, its level and other spellings people write."""

    code: str
    name: str
    level: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitList:
    """The units of a wave, and the lookup from every accepted spelling to the unit's name."""

    units: tuple[Unit, ...]
    lookup: dict[str, str]
    source: str

    @property
    def names(self) -> list[str]:
        """The names, in list order (the template's drop-down)."""
        return [u.name for u in self.units]

    def closest(self, value: object, n: int = 3) -> list[str]:
        """Up to ``n`` names closest to a value that is not on the list (for the error message)."""
        keys = list(self.lookup)
        hits = difflib.get_close_matches(value_key(value), keys, n=n * 2, cutoff=0.5)
        return list(dict.fromkeys(self.lookup[k] for k in hits))[:n]


def parse_units(data: object, source: str | Path, rows: list[int] | None = None) -> UnitList:
    """Check a parsed units list (``{"units": [...]}``) and build its lookup.

    ``rows`` gives the line (YAML) or sheet row of each entry for the messages.
    """
    entries = data.get("units") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UnitsError(
            source,
            [
                "找不到单位列表：YAML 需要 `units:` 下的列表，表格需要“编码”“单位名称”两列 / no list of units: "
                "a YAML file needs a list under `units:`, a sheet the columns 编码 (code) and 单位名称 (name)"
            ],
        )
    problems, units, lookup = [], [], {}
    for k, entry in enumerate(entries):
        where = f"第 {rows[k]} 行 / line {rows[k]}" if rows else f"第 {k + 1} 项 / entry {k + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: 应为 {{code, name}} / should be a mapping with code and name")
            continue
        unknown = set(entry) - set(_HEADERS)
        code, name = nfkc(entry.get("code")), nfkc(entry.get("name"))
        if unknown:
            problems.append(f"{where}: 未知的键 {sorted(unknown)} / unknown keys; allowed: code, name, level, aliases")
        if not code or not name:
            problems.append(f"{where}: 编码和单位名称都必须填写 / both code and name are required")
            continue
        raw_aliases = entry.get("aliases") or []
        if isinstance(raw_aliases, str):
            raw_aliases = [a for a in re.split(r"[、;；,，]", raw_aliases) if a.strip()]
        aliases = tuple(nfkc(a) for a in raw_aliases)
        for spelling in (code, name, *aliases):
            key = value_key(spelling)
            if key in lookup and lookup[key] != name:
                problems.append(
                    f"{where}: “{spelling}”已用于单位“{lookup[key]}”，请改用唯一的编码、名称和别名 / "
                    f"'{spelling}' already identifies unit '{lookup[key]}': codes, names and aliases must be unique"
                )
            lookup[key] = name
        level = nfkc(entry.get("level")) or None
        units.append(Unit(code, name, level, aliases))
    if len({u.name for u in units}) != len(units):
        dup = sorted({u.name for u in units if [v.name for v in units].count(u.name) > 1})
        problems.append(f"单位名称重复 / duplicate unit names: {'、'.join(dup)}")
    if problems:
        raise UnitsError(source, problems)
    return UnitList(tuple(units), lookup, str(source))


def _yaml_lines(text: str) -> list[int]:
    node = yaml.compose(text)
    for key, value in getattr(node, "value", []) or []:
        if getattr(key, "value", None) == "units" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _from_sheet(frame: pd.DataFrame, path: Path) -> UnitList:
    columns = {}
    for col in frame.columns:
        for field, names in _HEADERS.items():
            if value_key(col) in {value_key(n) for n in names}:
                columns[field] = col
    if not {"code", "name"} <= set(columns):
        raise UnitsError(
            path,
            [
                f"第 1 行需要“编码”和“单位名称”两列（现有：{'、'.join(map(str, frame.columns))}）/ row 1 needs the "
                "columns 编码 (code) and 单位名称 (name)"
            ],
        )
    frame = frame.dropna(how="all")
    entries = [{f: (None if pd.isna(row[c]) else row[c]) for f, c in columns.items()} for _, row in frame.iterrows()]
    return parse_units({"units": entries}, path, rows=[int(i) + 2 for i in frame.index])


def load_units(path: str | Path) -> UnitList:
    """Read a units list from YAML, Excel (first sheet) or CSV; :class:`UnitsError` says what is wrong."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            text = path.read_text(encoding="utf-8")
            return parse_units(yaml.safe_load(text), path, rows=_yaml_lines(text) or None)
        if path.suffix.lower() == ".csv":
            return _from_sheet(pd.read_csv(path, dtype=str, encoding="utf-8-sig"), path)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _from_sheet(pd.read_excel(path, dtype=str), path)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        if isinstance(exc, UnitsError):
            raise
        raise UnitsError(path, [f"无法读取 / cannot read: {exc}"]) from None
    raise UnitsError(path, ["单位名单应为 .yaml、.xlsx 或 .csv 文件 / the units list must be .yaml, .xlsx or .csv"])
