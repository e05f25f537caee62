"""Uploads through the portal: the engine's verdict at once, size limits, server-chosen names, duplicates,
partial acceptance, and delivery into the office's inbox exactly as the inbox flow expects."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from portal.helpers import csrf_of, login, make_portal, upload

from jianfu import paths
from jianfu.pipeline import validate_files
from jianfu.store.inbox import scan_inbox

ITEM_KEYS = {"id", "filename", "office", "wave", "sha256", "status", "rows", "flags", "errors", "received_at"}


@pytest.fixture
def app(tmp_path):
    return make_portal(tmp_path)


@pytest.fixture
def office(app):
    client = TestClient(app)
    login(client, "城关镇")
    return client


def test_one_bad_cell_in_800_rows_is_accepted_with_that_row_quarantined_and_the_cell_named(app, office, one_bad_cell):
    path, item = one_bad_cell
    r = upload(office, [("一处错误.csv", path.read_bytes())])
    assert r.status_code == 200
    [got] = r.json()
    assert set(got) == ITEM_KEYS and set(got["rows"]) == {"read", "accepted", "quarantined"}
    # Accepted by the check; processing until the inbox run has stored it. Exactly one row is invalid and it is
    # the only one quarantined (the "799 analysed, 1 quarantined"), as `jianfu validate` counts too.
    assert got["status"] == "processing"
    engine = validate_files([path], app.state.portal.inst)["files"][0]
    assert engine["status"] == "accepted" and engine["rows"] == 800 and engine["flags"]["invalid"] == 1
    assert engine["quarantined"] == 1
    assert got["rows"] == {"read": 800, "accepted": 799, "quarantined": 1}
    assert got["flags"] == engine["flags"]
    [cell] = [e for e in got["errors"] if e["code"] == "value.not_allowed"]
    assert (cell["sheet"], cell["row"], cell["column"], cell["value"]) == (cell["sheet"], 12, item, "很很同意")
    assert cell["fix_zh"] and cell["fix_en"] and "隔离" in cell["zh"]
    # The page shows the cell: row, column, value and the fix, in Chinese and, on switch, in English.
    page = office.get(f"/uploads/{got['id']}").text
    assert 'data-status="processing"' in page and "很很同意" in page and ">12<" in page and cell["fix_zh"] in page
    office.get("/lang/en")
    assert cell["fix_en"] in office.get(f"/uploads/{got['id']}").text


def test_strict_instrument_rejects_the_file_with_one_bad_cell(tmp_path, one_bad_cell):
    strict = tmp_path / "strict.yaml"
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8")
    assert "  strict: false" in text
    strict.write_text(text.replace("  strict: false", "  strict: true"), encoding="utf-8")
    app = make_portal(tmp_path, instrument=strict)
    client = TestClient(app)
    login(client, "城关镇")
    path, item = one_bad_cell
    [got] = upload(client, [("一处错误.csv", path.read_bytes())]).json()
    assert got["status"] == "rejected" and got["rows"]["accepted"] == 0
    assert any(e["code"] == "value.not_allowed" and e["severity"] == "error" and e["row"] == 12 for e in got["errors"])


def test_a_file_with_the_wrong_structure_is_rejected_with_the_fix_and_still_delivered(app, office):
    [got] = upload(office, [("随便.csv", "姓名,电话,备注\n张三,13800138000,x\n".encode())]).json()
    assert got["status"] == "rejected" and got["errors"]
    assert all(e["fix_zh"] and e["fix_en"] for e in got["errors"])
    assert "13800138000" not in str(got)  # a phone number typed anywhere is masked
    # Archived first and handed to the inbox, which records it and writes the office's 问题.txt as for any file.
    settings = app.state.portal.settings
    assert (Path(settings.archive_dir) / f"{got['sha256']}.csv").exists()
    [waiting] = scan_inbox(settings.inbox_dir, settle_seconds=0).waiting
    assert waiting.office == "城关镇" and waiting.path.name.endswith("_随便.csv")


def test_client_paths_never_reach_the_disk_the_server_names_the_file(app, office, small_surveys, tmp_path):
    data = small_surveys["csv"].read_bytes()
    names = ["../../x.csv", "..\\..\\..\\y.csv", "/etc/passwd.csv", ".hidden.csv", "~$lock.csv", "a/../../z.csv"]
    items = []
    for k, name in enumerate(names):
        # Distinct content each, so none is a duplicate of another.
        items += upload(office, [(name, data + b"\n" * (k + 1))]).json()
    assert [i["filename"] for i in items] == ["x.csv", "y.csv", "passwd.csv", "hidden.csv", "lock.csv", "z.csv"]
    settings = app.state.portal.settings
    delivered = sorted(p for p in Path(settings.inbox_dir).rglob("*") if p.is_file())
    assert len(delivered) == len(names)
    for item, p in zip(sorted(items, key=lambda i: i["id"]), sorted(delivered, key=lambda p: p.name), strict=True):
        assert p.parent == Path(settings.inbox_dir) / "城关镇"
        assert p.name == f"{item['id']}_{item['filename']}"  # the server's id, then a safe base name
    # Nothing escaped the data folder, nothing is left in staging.
    assert not [p for p in tmp_path.rglob("*") if p.name in {"x.csv", "y.csv", "z.csv", "passwd.csv"}]
    assert not list((app.state.portal.cfg.portal_dir / "staging").rglob("*.csv"))
    # The inbox takes every one of them (no hidden or temporary names).
    scan = scan_inbox(settings.inbox_dir, settle_seconds=0)
    assert len(scan.waiting) == len(names) and scan.skipped == []


def test_the_same_file_twice_is_recognised_and_not_delivered_again(app, office, small_surveys):
    data = small_surveys["wjx-text"].read_bytes()
    [first] = upload(office, [("第一批.xlsx", data)]).json()
    [again] = upload(office, [("第一批(1).xlsx", data)]).json()
    assert again["id"] == first["id"] and again["filename"] == "第一批.xlsx"
    assert again["errors"][0]["code"] == "upload.duplicate" and "已" in again["errors"][0]["zh"]
    assert len(office.get("/api/uploads").json()) == 1
    settings = app.state.portal.settings
    assert len([p for p in Path(settings.inbox_dir).rglob("*") if p.is_file()]) == 1
    # The page says so too.
    token = csrf_of(office.get("/upload").text)
    page = office.post("/upload", data={"csrf_token": token}, files=[("files", ("copy.xlsx", data))])
    assert 'data-duplicate="true"' in page.text and "已于" in page.text
    # Another office sending the same content is a new upload for the portal (the store keeps it once).
    other = TestClient(app)
    login(other, "东城街道")
    [theirs] = upload(other, [("第一批.xlsx", data)]).json()
    assert theirs["id"] != first["id"] and not any(e["code"] == "upload.duplicate" for e in theirs["errors"])


def test_a_file_beyond_the_size_limit_is_413_and_leaves_nothing(tmp_path, small_surveys):
    from jianfu.pipeline import Settings

    limits = dataclasses.replace(Settings().limits, max_bytes=20_000)
    app = make_portal(tmp_path, limits=limits, max_files=3)
    client = TestClient(app)
    login(client, "城关镇")
    big = b"a,b\n" + b"1,2\n" * 10_000  # 40 kB
    r = upload(client, [("small.csv", small_surveys["csv"].read_bytes()[:10_000]), ("big.csv", big)])
    assert r.status_code == 413 and "big.csv" in r.json()["detail"] and "KB" in r.json()["detail"]
    # The whole request is refused: not even the small file was kept.
    assert client.get("/api/uploads").json() == []
    portal = app.state.portal
    assert not [p for p in portal.cfg.portal_dir.rglob("*") if p.is_file() and "staging" in p.parts]
    assert not Path(portal.settings.inbox_dir).exists() or not list(Path(portal.settings.inbox_dir).rglob("*.csv"))
    # A declared length beyond every file at its limit is refused before the body is read.
    r = client.post(
        "/api/uploads",
        content=b"--x--\r\n",
        headers={
            "X-CSRF-Token": client.get("/api/me").json()["csrf_token"],
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(10**9),
        },
    )
    assert r.status_code == 413
    # The page shows the message, too.
    token = csrf_of(client.get("/upload").text)
    page = client.post("/upload", data={"csrf_token": token}, files=[("files", ("big.csv", big))])
    assert page.status_code == 413 and "大小上限" in page.text
    # Too many files in one request.
    r = upload(client, [(f"f{k}.csv", b"a\n1\n") for k in range(4)])
    assert r.status_code == 400 and "最多" in r.json()["detail"]


def test_the_form_upload_shows_each_files_status_rows_and_problems(app, office, small_surveys, filled_template):
    path, column = filled_template
    token = csrf_of(office.get("/upload").text)
    r = office.post(
        "/upload",
        data={"csrf_token": token},
        files=[
            ("files", ("问卷星导出.xlsx", small_surveys["wjx-text"].read_bytes())),
            ("files", ("模板_填好.xlsx", path.read_bytes())),
            ("files", ("wrong.csv", b"foo,bar\n1,2\n")),
        ],
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/uploads/batch/")
    page = office.get(r.headers["location"]).text
    import re

    assert re.findall(r'data-status="(\w+)"', page) == ["processing", "processing", "rejected"]
    assert '<meta http-equiv="refresh"' in page  # the page follows the processing files by itself
    assert "很很同意" in page and column[:10] in page
    assert [int(x) for x in re.findall(r'data-rows="quarantined">(\d+)<', page)][1] >= 1


def test_no_file_chosen_is_a_clear_400(office):
    token = csrf_of(office.get("/upload").text)
    page = office.post("/upload", data={"csrf_token": token}, files=[("files", ("", b""))])
    assert page.status_code == 400 and "请选择" in page.text


def test_the_template_download_is_the_instruments_template(office):
    r = office.get("/template")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in r.headers["content-disposition"]
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert "问卷数据" in wb.sheetnames and "编码表" in wb.sheetnames
