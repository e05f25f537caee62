"""Nothing leaks: after runs over answers full of personal data written the ways people write it,
no identifier is found in anything jianfu writes — the store, the report, the JSON summary, the
logs, the inbox's problem notes or Prefect's home (its database and result storage). Only the
archive (and the filed-away uploads) keep the raw files, by design and readable by jianfu only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.store.database import Store
from jianfu.synth import simulate, survey_table, write_survey

#: Identifiers as respondents write them, with the digits that must not survive anywhere.
PLANTED = [
    "我的手机 139 1234 5679，有事联系",
    "电话：139-0000-2222。",
    "+86 138 0013 8000 随时找我",
    "0086-13700137000",
    "联系方式１３６１２３４５６７８（微信同号）",
    "身份证 110101 19900307 777X",
    "身份证号：11010119900307123x",
    "老身份证 110101900307123",
    "办公室座机 010-87654321 或 (0755) 2345 6789",
    "工资卡 6222 0212 3456 7890 123",
    "邮箱 zhang.san@example.com",
]
INVALID_CELL = "320102198811112345"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


def _secrets(names: list[str]) -> tuple[list[str], list[str]]:
    """Digit runs (≥ 7) of every planted identifier, and the respondents' names."""
    runs = []
    for text in [*PLANTED, INVALID_CELL]:
        for token in re.findall(r"[0-9０-９][0-9０-９ \-().]{5,}[0-9０-９xX]", text):
            d = _digits(token)
            if len(d) >= 7:
                runs.append(d)
    return sorted(set(runs)), names


def _text_of(path: Path) -> str:
    """Everything readable in a file: an xlsx's XML parts, a DuckDB/SQLite file's raw bytes."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return path.read_bytes().decode("utf-8", "replace")


_CLUSTER = re.compile(r"[0-9０-９](?:[0-9０-９]|[ \-()（）](?=[0-9０-９(（]))+")


def _assert_clean(label: str, text: str, runs: list[str], names: list[str]) -> None:
    # Digits written together or split by spaces, dashes and brackets (not dots: every decimal
    # statistic would join up into long false alarms).
    clusters = [_digits(m.group()) for m in _CLUSTER.finditer(text)]
    for run in runs:
        assert not any(run in c for c in clusters), f"{label}: digits {run} found"
    for name in names:
        assert name not in text, f"{label}: a respondent's name found"


@pytest.fixture(scope="module")
def leaky(inst, tmp_path_factory):
    """A 问卷星 export whose open answers are full of personal data, and a copy with an ID number
    typed into an answer cell."""
    d = tmp_path_factory.mktemp("leaky")
    survey = simulate(inst, n=120, seed=77, inject=False)
    open_id = inst.open_questions[0].id
    survey.answers[open_id] = [PLANTED[i % len(PLANTED)] for i in range(len(survey.answers))]
    good = write_survey(survey, inst, d / "含个人信息.xlsx", fmt="wjx-text")
    table = survey_table(simulate(inst, n=40, seed=78, inject=False), inst, "csv")
    first_item = inst.items[0].id
    table[first_item] = table[first_item].astype(object)
    table.loc[[3, 9, 17, 25, 33], first_item] = INVALID_CELL  # 12.5% of rows: the file is rejected
    bad = d / "填错了.csv"
    table.to_csv(bad, index=False, encoding="utf-8-sig")
    return good, bad, list(survey.pii["name"])


@pytest.mark.slow
def test_no_personal_data_in_anything_jianfu_writes(inst, plan, leaky, tmp_path):
    good, bad, names = leaky
    runs, names = _secrets(names)
    env = {
        **os.environ,
        "JIANFU_DATA_DIR": str(tmp_path / "data"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "JIANFU_NO_PROGRESS": "1",
        "PREFECT_LOGGING_LEVEL": "DEBUG",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jianfu_flows.cli",
            "run",
            "--json",
            "--wave",
            "p",
            "--out",
            str(tmp_path / "reports"),
            str(good),
            str(bad),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["rows"]["read"] >= 120
    # The run really carried the planted text through: the open answers are in the report, masked.
    assert any(a for a in summary.get("open_answers", []))

    # The inbox too, for its problem notes: the bad file dropped by an office.
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    drop = settings.inbox_dir / "城关镇"
    drop.mkdir(parents=True)
    shutil.copyfile(bad, drop / bad.name)
    shutil.copyfile(good, drop / "再次上传.xlsx")
    old = time.time() - 60
    for p in drop.iterdir():
        os.utime(p, (old, old))
    result = workflow.process_inbox(inst, plan, "p2", settings, settle_seconds=0)

    _assert_clean("stdout JSON", proc.stdout, runs, names)
    _assert_clean("logs", proc.stderr, runs, names)
    _assert_clean("inbox JSON", json.dumps(result, ensure_ascii=False, default=str), runs, names)
    raw_uploads = {settings.archive_dir, settings.processed_dir, settings.rejected_dir, settings.inbox_dir}
    scanned = 0
    for root in (tmp_path / "data", tmp_path / "reports", tmp_path / "prefect"):
        for path in root.rglob("*"):
            if not path.is_file() or path.name == ".secret_key":
                continue
            if any(path.is_relative_to(r) for r in raw_uploads) and not path.name.endswith(".问题.txt"):
                continue  # the uploads themselves, kept as received (private to jianfu's account)
            _assert_clean(str(path.relative_to(tmp_path)), _text_of(path), runs, names)
            scanned += 1
    assert scanned >= 5
    # And the store, read as values (strings may be compressed on disk).
    with Store(settings.store_path, read_only=True) as store:
        for (table,) in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            _assert_clean(
                f"store table {table}", store.con.execute(f'SELECT * FROM "{table}"').df().to_csv(), runs, names
            )
    notes = list(settings.rejected_dir.rglob("*.问题.txt"))
    assert notes and "填错了" in notes[0].read_text(encoding="utf-8")
