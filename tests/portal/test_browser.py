"""A clerk's run through the portal in a real browser: Debian's Chromium, driven by Playwright.

Office 城关镇 logs in, uploads a 问卷星 export, the filled template (one mistyped cell) and a wrong file
through the page (the progress-bar script posts it), sees each file's status and the problem list at
once, then ``accepted`` once the inbox run has stored the files and refreshed the wave's report;
downloads the template; reads its history, in Chinese and in English, on a desktop and on a phone
screen. Office 东城街道 uploads with JavaScript switched off and can see none of 城关镇's uploads. A
researcher sees both offices in the wave and downloads the report. Screenshots go to ``artifacts/``.

The files answer the small second instrument (tests/fixtures/village), whose wave report the inbox run
rebuilds in seconds; the HTTP-level tests check the default questionnaire's files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from portal.helpers import ARTIFACTS, PASSWORD, make_portal, serve

from jianfu.ingest.template import fill_template
from jianfu.instrument import load_instrument
from jianfu.synth import load_structural_model, simulate, survey_table, write_survey

VILLAGE = Path(__file__).parents[1] / "fixtures" / "village"


def _chromium() -> str:
    """Debian's Chromium; installed with apt-get when missing and we are root (as .ci/system-deps.sh does)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            env=env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        found = shutil.which("chromium")
    assert found, "Chromium is missing: `make test` installs it through .ci/system-deps.sh (as root)"
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: Chromium refuses to sandbox itself as root (CI containers run the tests as root).
        b = p.chromium.launch(executable_path=_chromium(), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _login(page, url: str, name: str) -> None:
    page.goto(f"{url}/upload")
    assert "/login" in page.url  # not logged in: sent to the login page, and back afterwards
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _statuses(page) -> list[str]:
    return page.eval_on_selector_all("article [data-status]", "els => els.map(e => e.dataset.status)")


@pytest.mark.slow
def test_a_clerk_uploads_sees_the_problems_and_the_result_and_offices_stay_apart(browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    inst, model = load_instrument(VILLAGE / "village.yaml"), load_structural_model(VILLAGE / "village.synth.yaml")
    files = tmp_path / "files"
    wjx = write_survey(simulate(inst, n=80, seed=808, model=model), inst, files / "问卷星导出_城关镇.xlsx", "wjx-text")
    table = survey_table(simulate(inst, n=60, seed=5, inject=False, model=model), inst, "template").astype(object)
    column = next(c for c in table.columns if "工作量" in str(c))
    table.loc[3, column] = "很很同意"  # data row 4: spreadsheet row 5
    template = fill_template(inst, table, files / "模板_填好.xlsx")
    wrong = files / "其他表格.csv"
    wrong.write_text("序号,单位,备注\n1,城关镇,无\n", encoding="utf-8")
    theirs = write_survey(
        simulate(inst, n=40, seed=909, inject=False, model=model), inst, files / "东城街道.csv", "csv"
    )

    # One inbox run for everything the offices send within a few seconds.
    live = serve(make_portal(tmp_path, process="inprocess", debounce_seconds=6.0, instrument=VILLAGE / "village.yaml"))
    try:
        desktop = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = desktop.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        xhr = []
        page.on("request", lambda r: xhr.append(r.url) if r.resource_type == "xhr" and r.method == "POST" else None)

        # -- 城关镇: log in, upload three files through the page -----------------------------
        _login(page, live.url, "城关镇")
        assert page.url.endswith("/upload")
        assert page.inner_text("h1") == "上传问卷数据"
        assert page.is_visible("text=上传须知")
        page.set_input_files("input[type=file][name=files]", [str(wjx), str(template), str(wrong)])
        page.click("#upload-form button[type=submit]")
        page.wait_for_url(re.compile(r"/uploads/batch/[0-9a-f]+$"), timeout=60_000)
        assert any(u.endswith("/upload") for u in xhr), "the progress-bar script did not post the form"
        result_url = page.url

        names = page.eval_on_selector_all("article .filename", "els => els.map(e => e.textContent)")
        assert names == ["问卷星导出_城关镇.xlsx", "模板_填好.xlsx", "其他表格.csv"]
        assert _statuses(page) == ["processing", "processing", "rejected"]
        tpl = page.locator("article").nth(1)
        cell = tpl.locator("tr.problem", has_text="很很同意")
        assert cell.count() == 1 and column[:12] in cell.inner_text()
        assert "改为允许的选项" in cell.inner_text()
        assert cell.locator("td").nth(2).inner_text() == "5"  # data row 4 of the template is spreadsheet row 5
        assert int(tpl.locator("[data-rows=quarantined]").inner_text()) >= 1
        assert page.locator("article").nth(2).locator("tr.problem").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "01_upload_result_processing.png"), full_page=True)

        # -- 东城街道, JavaScript off: the plain form works, and 城关镇's uploads are invisible ------------
        plain = browser.new_context(java_script_enabled=False)
        other = plain.new_page()
        _login(other, live.url, "东城街道")
        other.set_input_files("input[name=files]", str(theirs))
        other.click("#upload-form button[type=submit]")
        other.wait_for_load_state()
        assert "/uploads/batch/" in other.url and _statuses(other) == ["processing"]
        assert other.goto(result_url).status == 404
        a_ids = [i["id"] for i in live.portal.uploads.list("城关镇")]
        assert other.goto(f"{live.url}/uploads/{a_ids[0]}").status == 404
        other.goto(f"{live.url}/uploads")
        assert "问卷星导出_城关镇" not in other.content() and "东城街道.csv" in other.content()
        other.screenshot(path=str(ARTIFACTS / "02_other_office_history.png"), full_page=True)
        plain.close()

        # -- the inbox run stores the files and refreshes the wave's report -------------------------
        assert live.portal.runner.wait_idle(240), live.portal.runner.last_error
        assert live.portal.runner.last_error is None
        page.goto(result_url)
        assert _statuses(page) == ["accepted", "accepted", "rejected"]
        assert page.locator("text=/报告已于 .* 更新/").count() == 2
        page.screenshot(path=str(ARTIFACTS / "03_upload_result.png"), full_page=True)

        # -- the template, the history, English ------------------------------------------------
        page.goto(f"{live.url}/upload")
        with page.expect_download() as download:
            page.click("text=下载上传模板")
        saved = tmp_path / "template.xlsx"
        download.value.save_as(saved)
        assert download.value.suggested_filename.endswith(".xlsx")
        assert "问卷数据" in load_workbook(saved, read_only=True).sheetnames
        page.click("nav >> text=上传记录")
        # The click only starts the navigation: wait for the history table before counting its rows.
        page.wait_for_url(f"{live.url}/uploads")
        page.wait_for_selector("table.history tbody tr", timeout=30_000)
        rows = page.locator("table.history tbody tr")
        assert rows.count() == 3 and "东城街道" not in page.content()
        assert sorted(
            page.eval_on_selector_all("table.history [data-status]", "e => e.map(x => x.dataset.status)")
        ) == ["accepted", "accepted", "rejected"]
        page.screenshot(path=str(ARTIFACTS / "04_history.png"), full_page=True)
        page.click("text=English")
        assert page.inner_text("h1") == "Upload history"
        page.goto(result_url)
        assert page.is_visible("text=How to fix") and page.is_visible("text=Accepted")
        page.screenshot(path=str(ARTIFACTS / "05_upload_result_en.png"), full_page=True)
        page.click("text=中文")

        # -- on a phone --------------------------------------------------------------------------
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        mobile = phone.new_page()
        _login(mobile, live.url, "城关镇")
        mobile.goto(result_url)
        assert _statuses(mobile) == ["accepted", "accepted", "rejected"]
        # The problem table stacks into labelled cards: nothing wider than the screen.
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
        mobile.screenshot(path=str(ARTIFACTS / "06_upload_result_phone.png"), full_page=True)
        phone.close()

        # -- a researcher: both offices in the wave, the report -------------------------------------
        research = browser.new_context(accept_downloads=True)
        r = research.new_page()
        _login(r, live.url, "研究员")
        r.goto(f"{live.url}/waves")
        wave = r.locator("section.wave").first
        assert wave.locator("tr[data-office]").count() == 2
        assert "城关镇" in wave.inner_text() and "东城街道" in wave.inner_text()
        with r.expect_download() as report:
            wave.locator("text=下载最新报告").click()
        assert report.value.suggested_filename.startswith("jianfu_")
        r.screenshot(path=str(ARTIFACTS / "07_waves.png"), full_page=True)
        research.close()

        # Nothing the CSP blocked, no script error.
        assert errors == []
        desktop.close()
    finally:
        live.portal.runner.wait_idle(240)
        live.stop()
    events = {e["event"] for e in live.portal.audit.entries()}
    assert {"login", "upload", "download.template", "download.report"} <= events
