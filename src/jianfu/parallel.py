"""Independent statistics of one run on the machine's other cores.

A run's statistics fall into blocks that share no state — the measurement-invariance ladders,
the psychometrics, the models and their sensitivity analyses — and each costs seconds whatever
the number of respondents. :func:`offload` hands a block to a worker process and returns a
:class:`Pending` at once, so the calling process works on the next block meanwhile; when the
caller asks for the result of a block no worker has started yet, it computes the block itself
(work stealing), so a slow-starting worker never makes a run slower than the serial one.

Workers come from a ``forkserver`` that has imported the statistics modules once: a worker then
starts in milliseconds, and no worker is forked from a process that runs Prefect's threads
(forking a threaded process can copy a held lock and hang). Each process uses one BLAS thread:
these matrices are small, and BLAS threads only contend with the processes for the 2 cores.

``JIANFU_PROCESSES`` sets how many processes compute at once, the calling one included (default:
the number of cores); ``1`` computes everything here, in order. Results are the same either way:
each block is a pure function of its arguments and seeds.

Examples
--------
>>> pending = offload(sum, [1, 2, 3])
>>> pending.result()
6
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from threadpoolctl import threadpool_limits

__all__ = ["Pending", "offload", "gather", "processes", "warm", "shutdown"]

#: Modules the worker processes import before the first block arrives.
PRELOAD = ["jianfu.analysis", "jianfu.sensitivity", "jianfu.comparability", "jianfu.pipeline"]

_lock = threading.RLock()  # re-entered when a submitted block is already done as its callback is added
_pool: ProcessPoolExecutor | None = None
_size = 0  # worker processes of _pool
_busy = 0  # blocks the workers hold (running or about to)
_queue: deque[Pending] = deque()  # blocks waiting for a free worker
_disabled = False  # set when the pool broke: everything is computed in the calling process
_ready = threading.Event()  # cleared while warm() starts the first worker: blocks queue meanwhile
_ready.set()
_warmed: ProcessPoolExecutor | None = None  # the pool warm() has started a worker of


def processes() -> int:
    """Processes that compute at once, the calling one included (``JIANFU_PROCESSES``, default: cores)."""
    raw = os.environ.get("JIANFU_PROCESSES", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise ValueError(
                f"JIANFU_PROCESSES 必须是正整数，而不是 {raw!r} / "
                f"JIANFU_PROCESSES must be a positive integer, not {raw!r}"
            ) from None
    # The cores this process may run on (a container's CPU set), not the machine's.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def _init_worker() -> None:
    threadpool_limits(limits=1, user_api="blas")


def _executor() -> ProcessPoolExecutor | None:
    global _pool, _size
    n = processes()
    if n <= 1 or _disabled:
        return None
    with _lock:
        if _pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _pool, _size = ProcessPoolExecutor(max_workers=n - 1, mp_context=ctx, initializer=_init_worker), n - 1
        return _pool


def shutdown() -> None:
    """Stop the worker processes (at exit, or to start afresh after ``JIANFU_PROCESSES`` changed)."""
    global _pool, _busy, _disabled, _warmed
    with _lock:
        pool, _pool, _busy, _disabled, _warmed = _pool, None, 0, False, None
        _queue.clear()
        _ready.set()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)


def _noop() -> None:
    return None


def warm(wait: bool = False) -> None:
    """Start the workers now, in the background, so they are ready when the statistics begin.

    Starting the first worker waits for the forkserver to import the statistics (about 2 s):
    a thread does that wait, and the caller reads its files meanwhile. Blocks offloaded before
    the worker is up are queued, and computed by the caller if it asks for them first.
    ``wait`` returns only once the worker is up.
    """
    global _warmed
    pool = _executor()
    with _lock:
        start = pool is not None and pool is not _warmed
        if start:
            _warmed = pool
            _ready.clear()
    if start:
        threading.Thread(target=_spawn, args=(pool,), name="jianfu-warm", daemon=True).start()
    if wait:
        _ready.wait()


def _spawn(pool: ProcessPoolExecutor) -> None:
    # Not counted in _busy: the no-op only makes the pool start its worker now.
    try:
        pool.submit(_noop)
    except (BrokenProcessPool, RuntimeError):
        pass  # broken or shut down meanwhile: the blocks' result() computes them here
    finally:
        with _lock:
            _ready.set()
            _drain()


class Pending:
    """A block handed to the workers: :meth:`result` waits for it, or computes it here if none has begun it."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict):
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._future: Future | None = None
        self._claimed = False

    def _start(self, pool: ProcessPoolExecutor) -> None:
        # called with _lock held
        global _busy
        try:
            future = pool.submit(self._fn, *self._args, **self._kwargs)
        except BrokenProcessPool:
            _broken()
            return  # stays unstarted: result() computes it here
        _busy += 1
        self._future = future
        future.add_done_callback(_next)

    def result(self) -> Any:
        """The block's result; its exception is raised here."""
        with _lock:
            here = self._future is None and not self._claimed
            if here:
                self._claimed = True
                if self in _queue:
                    _queue.remove(self)
        if not here:
            try:
                return self._future.result()
            except BrokenProcessPool:
                _broken()  # a worker died (killed, out of memory): compute the block here instead
        fn, args, kwargs = self._fn, self._args, self._kwargs
        self._args, self._kwargs = (), {}
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)


def _broken() -> None:
    """The pool cannot run blocks any more: say so once, and compute everything here from now on."""
    global _pool, _disabled
    with _lock:
        if _disabled:
            return
        _disabled, _pool = True, None
        _queue.clear()
    warnings.warn(
        "工作进程意外退出，其余统计改在当前进程中计算（结果不变，只是更慢） / a worker process exited "
        "unexpectedly: the remaining statistics are computed in this process (same results, slower). "
        "Scripts that call jianfu need the `if __name__ == '__main__':` guard of multiprocessing, "
        "or JIANFU_PROCESSES=1.",
        RuntimeWarning,
        stacklevel=3,
    )


def _next(_: Future) -> None:
    """A worker is free: give it the next block nobody has claimed."""
    global _busy
    with _lock:
        _busy -= 1
        _drain()


def _drain() -> None:
    # called with _lock held
    while _pool is not None and _ready.is_set() and _queue and _busy < _size:
        pending = _queue.popleft()
        if not pending._claimed:
            pending._start(_pool)


def offload(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Pending:
    """Start ``fn(*args, **kwargs)`` in a free worker process, or queue it; returns at once.

    ``fn`` and its arguments must be picklable (a module-level function and plain data). With
    one process, while every worker is busy or while the first worker is still starting, the
    block waits for :meth:`Pending.result`, which computes it in the calling process unless a
    worker has started it by then.
    """
    pending = Pending(fn, args, kwargs)
    warm()  # a first block does not wait for the worker to start: it is queued meanwhile
    pool = _executor()
    if pool is not None:
        with _lock:
            if _busy < _size and _ready.is_set():
                pending._start(pool)
            else:
                _queue.append(pending)
    return pending


def gather(pending: list[Pending]) -> list[Any]:
    """The results of ``pending`` blocks in their order, asked for last-submitted first.

    Workers take blocks from the front of the queue, so the blocks at the back are those no
    worker has begun: the caller computes them while the workers finish theirs.
    """
    results: list[Any] = [None] * len(pending)
    for i in reversed(range(len(pending))):
        results[i] = pending[i].result()
    return results
