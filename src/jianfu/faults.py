"""Named crash points for fault-injection tests.

The pipelines call :func:`point` at every stage boundary. When the environment variable
``JIANFU_FAULT_AT`` names that point, the process kills itself with SIGKILL there — exactly what
a power cut or an OOM kill does, with no ``finally`` blocks or exit handlers run — so a test can
stop a run at a chosen boundary, deterministically, without a timer. Unset, a point costs one
dictionary lookup.

Examples
--------
>>> point("stored")   # JIANFU_FAULT_AT is not set: nothing happens
"""

from __future__ import annotations

import os
import signal

__all__ = ["point", "ENV", "POINTS"]

ENV = "JIANFU_FAULT_AT"
#: The boundaries the pipelines announce, in the order an inbox run passes them.
POINTS = ("scanned", "archived", "cleaned", "stored", "filed-one", "filed", "reported")


def point(name: str) -> None:
    """Die here, as if killed, when ``JIANFU_FAULT_AT`` is ``name``."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
