"""Nothing lost, nothing twice: archive and store."""

from __future__ import annotations

from jianfu import pipeline


def test_two_identical_runs_store_every_row_exactly_once(inst, survey_files, settings):
    files = [survey_files["wjx-text"], survey_files["csv"]]
    for _ in range(2):
        results = [pipeline.ingest_one(f, inst, settings) for f in files]
        frame = pipeline.clean(results, inst)
        pipeline.store_rows(frame, results, inst, "2026-10", settings)
    from jianfu.store.database import open_store

    with open_store(settings) as store:
        rows = store.rows(inst)
        n_files = store.con.execute("SELECT count(*) FROM files").fetchone()[0]
    assert len(rows) == sum(r.n_rows for r in results)
    assert not rows.duplicated(["_file_sha256", "_sheet", "_row"]).any()
    assert set(rows["status"]) == {"accepted", "quarantined"}
    assert rows.loc[rows.status == "quarantined", "reasons"].str.len().gt(0).all()
    assert n_files == 2
    with open_store(settings, read_only=True) as store:
        # A few columns of the same rows, in the asked order; a column the table lacks is left out
        narrow = store.rows(inst, columns=["status", "wave", "no_such_column", "ap7"])
        assert list(narrow.columns) == ["status", "wave", "ap7"]
        assert narrow.equals(rows[["status", "wave", "ap7"]])
        assert store.rows(inst, wave="2026-10", columns=["wave"]).wave.tolist() == ["2026-10"] * len(rows)
        assert store.rows(inst, wave="2025-01", columns=["wave"]).empty
    with open_store(settings, read_only=True) as store:
        recorded = dict(store.con.execute("SELECT sha256, archive_path FROM files").fetchall())
    assert recorded == {r.sha256: r.archive_path for r in results}
    archived = sorted(p.name for p in settings.archive_dir.iterdir())
    assert archived == sorted(f"{r.sha256}{r.path[r.path.rfind('.') :]}" for r in results)
    for r, f in zip(results, files, strict=True):
        assert (settings.archive_dir / f"{r.sha256}{f.suffix}").read_bytes() == f.read_bytes()


def test_rejected_files_are_archived_too(inst, settings, tmp_path):
    bad = tmp_path / "wrong.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    r = pipeline.ingest_one(bad, inst, settings)
    assert r.status == "rejected"
    assert (settings.archive_dir / f"{r.sha256}.csv").exists()


def test_concurrent_first_use_of_the_secret_agrees_on_one_key(tmp_path):
    """Files ingested in parallel create the hashing key at the same moment: one key wins."""
    from concurrent.futures import ThreadPoolExecutor

    from jianfu.privacy import load_secret

    path = tmp_path / "data" / ".secret_key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_secret(path), range(32)))
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == [".secret_key"]
