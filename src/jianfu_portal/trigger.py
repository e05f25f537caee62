"""Triggering the pipeline after an upload: the inbox run, in this process or through Prefect.

:class:`Runner` is one background thread that runs the portal's jobs one after the other. Inbox
requests are *coalesced*: an upload asks for a run, and the run starts once uploads have paused for
``debounce`` seconds (at most ``max_delay`` after the first request), so twenty files arriving together
are taken in by one inbox run rather than twenty. A reanalysis asked for by a researcher is queued
behind it.

The jobs themselves come from :func:`jobs`:

* ``inprocess`` — :func:`jianfu.workflow.process_inbox` (and :func:`jianfu.workflow.reanalyse_wave`)
  called here, with the engine's default executor; the same steps the inbox flow runs;
* ``prefect`` — a flow run of the ``inbox`` (``reanalysis``) deployment that ``jianfu serve`` or
  ``jianfu deploy`` registered, through :func:`prefect.deployments.run_deployment` without waiting
  for it; the portal learns the outcome from the store, like any other reader;
* ``off`` — nothing: the scheduled inbox poll of ``jianfu serve`` takes the files in.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Runner", "jobs"]

log = logging.getLogger("jianfu.portal")


class Runner:
    """Run the inbox job (coalesced) and reanalysis jobs (queued) in one background thread.

    Parameters
    ----------
    inbox : callable or None
        The inbox job; None switches triggering off.
    reanalyse : callable or None
        ``reanalyse(wave)``.
    after : callable
        Called after every job (the portal settles finished uploads from the store).
    debounce, max_delay : float
        Seconds of quiet before an inbox run; the longest an upload waits for its run.

    Examples
    --------
    >>> calls = []
    >>> runner = Runner(lambda: calls.append("inbox"), None, lambda: None, debounce=0.05)
    >>> for _ in range(5):
    ...     runner.kick()
    >>> runner.wait_idle(5), calls
    (True, ['inbox'])
    >>> runner.close()
    """

    def __init__(
        self,
        inbox: Callable[[], object] | None,
        reanalyse: Callable[[str | None], object] | None,
        after: Callable[[], object],
        debounce: float = 2.0,
        max_delay: float = 30.0,
    ):
        self._inbox, self._reanalyse, self._after = inbox, reanalyse, after
        self.debounce, self.max_delay = debounce, max_delay
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._first_kick: float | None = None
        self._last_kick = 0.0
        self._waves: list[str | None] = []
        self._busy = False
        self.runs = 0
        self.last_run_at: str | None = None
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether uploads trigger anything (False when processing is off)."""
        return self._inbox is not None

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="jianfu-portal-runner", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Ask for an inbox run (a no-op when triggering is off)."""
        if self._inbox is None:
            return
        with self._cv:
            now = time.monotonic()
            if self._first_kick is None:
                self._first_kick = now
            self._last_kick = now
            self._start()
            self._cv.notify_all()

    def reanalyse(self, wave: str | None) -> bool:
        """Queue a reanalysis of ``wave``; False when triggering is off."""
        if self._reanalyse is None:
            return False
        with self._cv:
            if wave not in self._waves:
                self._waves.append(wave)
            self._start()
            self._cv.notify_all()
        return True

    def _next_job(self) -> tuple[str, str | None] | None:
        with self._cv:
            while not self._closed and self._first_kick is None and not self._waves:
                self._cv.wait()
            if self._closed:
                return None
            if self._first_kick is not None:
                while not self._closed:
                    now = time.monotonic()
                    wake = min(self._last_kick + self.debounce, self._first_kick + self.max_delay)
                    if now >= wake:
                        break
                    self._cv.wait(wake - now)
                self._first_kick = None
                job = ("inbox", None)
            else:
                job = ("reanalyse", self._waves.pop(0))
            self._busy = True
            return job

    def _loop(self) -> None:
        while (job := self._next_job()) is not None:
            kind, wave = job
            try:
                if kind == "inbox":
                    self._inbox()
                else:
                    self._reanalyse(wave)
                self.last_error = None
            except Exception as exc:  # a failed run must not stop the portal; the next upload retries
                self.last_error = f"{kind}: {type(exc).__name__}: {exc}"
                log.error("jianfu portal: %s run failed\n%s", kind, traceback.format_exc())
            finally:
                self.runs += 1
                self.last_run_at = datetime.now(UTC).isoformat(timespec="seconds")
                try:
                    self._after()
                except Exception:  # settling statuses is retried on every page view
                    log.exception("jianfu portal: refreshing upload statuses failed")
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def busy(self) -> bool:
        """Whether a job is queued or running."""
        with self._cv:
            return self._busy or self._first_kick is not None or bool(self._waves)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._busy or self._first_kick is not None or self._waves:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.5))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running job (if any); queued jobs are dropped (the files wait in the inbox)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)


def jobs(cfg, mode: str) -> tuple[Callable[[], object] | None, Callable[[str | None], object] | None]:
    """The (inbox, reanalyse) jobs of a resolved process mode (see :meth:`PortalConfig.process_mode`)."""
    if mode == "off":
        return None, None
    if mode == "prefect":
        common = {"instrument": str(cfg.instrument), "data_dir": str(cfg.data_dir), "out": str(cfg.reports_dir)}

        def inbox_deployment() -> object:
            from prefect.deployments import run_deployment

            # settle 0: the portal publishes each file complete, under its final name, in one step.
            return run_deployment(cfg.inbox_deployment, parameters=common | {"settle_seconds": 0}, timeout=0)

        def reanalysis_deployment(wave: str | None) -> object:
            from prefect.deployments import run_deployment

            return run_deployment(cfg.reanalysis_deployment, parameters=common | {"wave": wave}, timeout=0)

        return inbox_deployment, reanalysis_deployment

    from jianfu import pipeline as engine
    from jianfu import workflow

    settings = cfg.settings()
    inst, plan = engine.load_inputs(cfg.instrument)

    def inbox_here() -> dict:
        wave = engine.wave_label(cfg.wave_rule, timezone=cfg.timezone)
        return workflow.process_inbox(inst, plan, wave, settings, settle_seconds=0, out=cfg.reports_dir)

    def reanalyse_here(wave: str | None) -> dict | None:
        return workflow.reanalyse_wave(inst, plan, settings, wave, out=cfg.reports_dir)

    return inbox_here, reanalyse_here
