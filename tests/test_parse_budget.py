"""The flows parse large uploads one after another and small ones side by side (jianfu_flows.steps.map)."""

from __future__ import annotations

from jianfu.workflow import Step
from jianfu_flows import steps


class _Recorder:
    """Stands in for a Prefect task: records which items are running whenever one starts."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.together: list[set[str]] = []

    def submit(self, item: str, *args, **kwargs):
        self.running.add(item)
        self.together.append(set(self.running))
        recorder = self

        class Future:
            def result(self):
                recorder.running.discard(item)
                return item

        return Future()


def test_large_files_one_at_a_time_small_ones_together_results_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "PARSE_BUDGET", 10_000)
    monkeypatch.setattr(steps, "MAX_WORKERS", 3)
    files = []
    for name, size in [("a", 8_000), ("b", 8_000), ("c", 1_000), ("d", 1_000), ("e", 1_000), ("f", 30_000)]:
        path = tmp_path / name
        path.write_bytes(b"x" * size)
        files.append(str(path))
    recorder = _Recorder()
    executor = steps.PrefectSteps()
    monkeypatch.setattr(executor, "_task", lambda step: recorder)
    assert list(executor.map(Step("ingest", lambda f: f, io=True), files)) == files
    names = [{f.rsplit("/", 1)[-1] for f in group} for group in recorder.together]
    assert not any({"a", "b"} <= group for group in names)  # 16,000 bytes > the budget
    assert {"b", "c", "d"} in names  # 10,000 bytes: within it
    assert max(map(len, names)) == 3  # never more than MAX_WORKERS
    assert names[-1] == {"f"}  # larger than the budget alone: runs, but alone


def test_items_that_are_not_files_only_count_against_the_worker_limit(monkeypatch):
    monkeypatch.setattr(steps, "MAX_WORKERS", 2)
    recorder = _Recorder()
    executor = steps.PrefectSteps()
    monkeypatch.setattr(executor, "_task", lambda step: recorder)
    assert list(executor.map(Step("x", lambda v: v), ["p", "q", "r"])) == ["p", "q", "r"]
    assert [len(g) for g in recorder.together] == [1, 2, 2]
