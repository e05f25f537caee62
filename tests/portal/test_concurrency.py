"""Twenty uploads at once from four offices, through a running portal and the real inbox run: every
content lands in the store exactly once, and every upload ends ``accepted`` with the store's counts.

The files answer the small second instrument (tests/fixtures/village): the portal knows no survey, and its
wave report takes seconds to rebuild rather than a minute.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from portal.helpers import PASSWORD, login, make_portal, serve

from jianfu.instrument import load_instrument
from jianfu.store.database import Store
from jianfu.synth import load_structural_model, simulate, write_survey

OFFICES = ["office0", "office1", "office2", "office3"]
N = 30
VILLAGE = Path(__file__).parents[1] / "fixtures" / "village"


@pytest.fixture(scope="module")
def village():
    return load_instrument(VILLAGE / "village.yaml")


@pytest.fixture(scope="module")
def files(village, tmp_path_factory) -> dict[tuple[str, int], tuple[str, bytes]]:
    inst, model = village, load_structural_model(VILLAGE / "village.synth.yaml")
    d = tmp_path_factory.mktemp("concurrent")
    out = {}
    for o, office in enumerate(OFFICES):
        for k in range(5):
            fmt = "csv" if (o + k) % 2 else "wjx-code"
            path = d / f"{office}_{k}.{'csv' if fmt == 'csv' else 'xlsx'}"
            survey = simulate(inst, n=N, seed=500 + 10 * o + k, inject=False, model=model)
            out[(office, k)] = (path.name, write_survey(survey, inst, path, fmt).read_bytes())
    out[("office0", 4)] = out[("office0", 3)]  # the same file sent twice at once by one office
    out[("office3", 0)] = out[("office2", 0)]  # and one export sent by two offices
    return out


@pytest.mark.slow
def test_twenty_concurrent_uploads_from_four_offices_land_exactly_once(tmp_path, files, village):
    app = make_portal(
        tmp_path,
        offices=OFFICES,
        researchers=(),
        process="inprocess",
        debounce_seconds=1.0,
        instrument=VILLAGE / "village.yaml",
    )
    live = serve(app)
    try:
        clients = {}
        for office in OFFICES:
            c = live.client()
            assert login(c, office, PASSWORD).status_code == 303
            clients[office] = (c, c.get("/api/me").json()["csrf_token"])
        start = threading.Barrier(len(files))
        results: dict[tuple[str, int], object] = {}

        def send(key):
            client, token = clients[key[0]]
            start.wait()
            results[key] = client.post(
                "/api/uploads",
                files=[("files", files[key])],
                headers={"X-CSRF-Token": token},
            )

        threads = [threading.Thread(target=send, args=(key,)) for key in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(results) == 20 and all(r.status_code == 200 for r in results.values())
        items = {key: r.json()[0] for key, r in results.items()}
        duplicate = {k for k, it in items.items() if it["errors"] and it["errors"][0]["code"] == "upload.duplicate"}
        # Exactly one of the two simultaneous copies is recognised as already received, and both name one upload.
        assert duplicate in ({("office0", 3)}, {("office0", 4)})
        assert items[("office0", 3)]["id"] == items[("office0", 4)]["id"]
        assert all(it["status"] == "processing" for it in items.values()), [it["errors"] for it in items.values()]

        assert live.portal.runner.wait_idle(240), live.portal.runner.last_error
        assert live.portal.runner.last_error is None
        live.portal.uploads.refresh()
        records = live.portal.uploads.list()
        assert len(records) == 19  # 20 uploads, one of them a copy the same office had just sent
        assert Counter(r["status"] for r in records) == {"accepted": 19}
        assert all(r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"] == N for r in records)

        settings = live.portal.settings
        with Store(settings.store_path, read_only=True) as store:
            stored = store.all_files()
            receipts = store.receipts()
            rows = store.rows(village)
        distinct = {data for _, data in files.values()}
        assert len(stored) == len(distinct) == 18
        assert len(rows) == 18 * N and not rows.duplicated(["_file_sha256", "_sheet", "_row"]).any()
        # Each upload shows the store's own counts for its content.
        by_sha = rows.groupby("_file_sha256")["status"].value_counts().unstack(fill_value=0)
        for r in records:
            assert (r["rows_accepted"], r["rows_quarantined"]) == (
                by_sha.loc[r["sha256"]].get("accepted", 0),
                by_sha.loc[r["sha256"]].get("quarantined", 0),
            )
        assert Counter(r["kind"] for r in receipts) == {"new": 18, "resent": 1}
        assert {r["office"] for r in receipts} == set(OFFICES)
        # Every delivery left the inbox and was filed under its office; nothing waits, nothing is in staging.
        assert not [p for p in Path(settings.inbox_dir).rglob("*") if p.is_file()]
        assert len([p for p in Path(settings.processed_dir).rglob("*") if p.is_file()]) == 19
        assert not [p for p in (live.portal.cfg.portal_dir / "staging").rglob("*") if p.is_file()]
        # The wave's report was rebuilt after the uploads, and each upload's page says so.
        assert list(Path(settings.reports_dir).glob("jianfu_village_*.xlsx"))
        client = clients["office1"][0]
        page = client.get(f"/uploads/{items[('office1', 0)]['id']}").text
        assert 'data-status="accepted"' in page and "报告已于" in page
        # The audit log has all twenty uploads.
        events = Counter(e["event"] for e in live.portal.audit.entries())
        assert (events["upload"], events["upload.duplicate"]) == (19, 1)
    finally:
        live.stop()
