"""Where the portal keeps its files and how it behaves: one frozen :class:`PortalConfig`.

The portal's own files (accounts, sessions, upload records, the audit log, its signing key) live in
``<data dir>/portal/``, next to the engine's ``inbox/``, ``archive/`` and ``store/`` of the same data
folder, so one ``--data-dir`` names everything a deployment owns.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jianfu import paths

__all__ = ["PortalConfig", "PROCESS_MODES"]

#: How an accepted upload reaches the pipeline: ``auto`` is ``prefect`` when PREFECT_API_URL is set,
#: else ``inprocess``; ``off`` leaves the file in the inbox for the scheduled poll of ``jianfu serve``.
PROCESS_MODES = ("auto", "inprocess", "prefect", "off")


@dataclass(frozen=True)
class PortalConfig:
    """Everything :func:`jianfu_portal.app.create_app` needs.

    Parameters
    ----------
    data_dir : Path
        The data folder shared with the pipeline (``inbox/``, ``archive/``, ``store/``).
    reports_dir : Path
        Where the wave reports are written (and found for download).
    instrument : Path
        The questionnaire uploads are checked against; its analysis plan sits next to it.
    wave_rule, timezone : str
        The wave label of an upload (``flows/schedules.yaml``'s rule, see :func:`jianfu.pipeline.wave_label`).
    secure_cookies : bool
        Behind HTTPS: cookies get the ``Secure`` flag (and the ``__Host-`` prefix), responses HSTS.
    idle_minutes, max_session_hours : float
        A session ends after this long without a request, and after this long in any case.
    process : str
        One of :data:`PROCESS_MODES`.
    debounce_seconds : float
        The inbox run waits for this long a pause in uploads, so a burst of files is taken in by one run.
    max_files : int
        Files per upload request.
    limits : jianfu.ingest.readers.Limits, optional
        Size limits; by default the engine's (``JIANFU_MAX_MB`` and friends).
    clock : callable
        Seconds since the epoch (tests move it forward to expire lockouts and sessions).
    """

    data_dir: Path
    reports_dir: Path
    instrument: Path
    wave_rule: str = "%Y-%m"
    timezone: str = "Asia/Shanghai"
    secure_cookies: bool = False
    idle_minutes: float = 30.0
    max_session_hours: float = 12.0
    process: str = "auto"
    debounce_seconds: float = 2.0
    max_files: int = 10
    limits: Any = None
    lockout_failures: int = 5
    lockout_window_seconds: float = 15 * 60
    lockout_seconds: float = 15 * 60
    inbox_deployment: str = "inbox/inbox-poll"
    reanalysis_deployment: str = "reanalysis/weekly-reanalysis"
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.process not in PROCESS_MODES:
            raise ValueError(f"process must be one of {', '.join(PROCESS_MODES)}, not {self.process!r}")
        for name in ("data_dir", "reports_dir", "instrument"):
            object.__setattr__(self, name, Path(getattr(self, name)).resolve())
        if self.limits is None:
            object.__setattr__(self, "limits", self.settings().limits)

    @classmethod
    def from_schedules(
        cls,
        data_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
        instrument: str | Path | None = None,
        **options: Any,
    ) -> PortalConfig:
        """A configuration that agrees with ``flows/schedules.yaml``: its instrument, wave rule and time zone."""
        from jianfu_flows.serve import load_schedules

        rules = load_schedules()
        inst = Path(instrument) if instrument else paths.PROJ_ROOT / rules.instrument
        return cls(
            data_dir=Path(data_dir) if data_dir else paths.DATA_DIR,
            reports_dir=Path(reports_dir) if reports_dir else paths.REPORTS_DIR,
            instrument=inst if inst.exists() else paths.DEFAULT_INSTRUMENT,
            wave_rule=rules.wave.rule,
            timezone=rules.timezone,
            **options,
        )

    @property
    def portal_dir(self) -> Path:
        """The portal's own folder: ``<data dir>/portal``."""
        return self.data_dir / "portal"

    def settings(self):
        """The engine's :class:`jianfu.pipeline.Settings` for this data folder (with these limits)."""
        from jianfu.pipeline import Settings

        settings = Settings.under(self.data_dir, self.reports_dir)
        return dataclasses.replace(settings, limits=self.limits) if self.limits is not None else settings

    def process_mode(self, env: dict[str, str] | None = None) -> str:
        """The resolved mode: ``auto`` becomes ``prefect`` when PREFECT_API_URL is set, else ``inprocess``.

        Examples
        --------
        >>> cfg = PortalConfig(Path("/tmp/d"), Path("/tmp/r"), paths.DEFAULT_INSTRUMENT, limits=object())
        >>> cfg.process_mode({}), cfg.process_mode({"PREFECT_API_URL": "http://127.0.0.1:4200/api"})
        ('inprocess', 'prefect')
        """
        env = os.environ if env is None else env
        if self.process != "auto":
            return self.process
        return "prefect" if env.get("PREFECT_API_URL") else "inprocess"
