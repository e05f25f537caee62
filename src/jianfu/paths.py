"""Named project paths. Everything the pipeline writes lives under ``data/`` or ``reports/``."""

from __future__ import annotations

import os
from pathlib import Path

#: Project root: the checkout holding ``instruments/``. ``JIANFU_HOME`` overrides it.
PROJ_ROOT = Path(os.environ.get("JIANFU_HOME", Path(__file__).resolve().parents[2]))

INSTRUMENTS_DIR = PROJ_ROOT / "instruments"
DEFAULT_INSTRUMENT = INSTRUMENTS_DIR / "cadre_burden.yaml"
#: Runtime data (inbox, archive, store, secret key); ``JIANFU_DATA_DIR`` overrides it.
DATA_DIR = Path(os.environ.get("JIANFU_DATA_DIR", PROJ_ROOT / "data"))
SAMPLE_DIR = DATA_DIR / "sample"
ARCHIVE_DIR = DATA_DIR / "archive"
STORE_DIR = DATA_DIR / "store"
INBOX_DIR = DATA_DIR / "inbox"
SECRET_FILE = DATA_DIR / ".secret_key"
REPORTS_DIR = PROJ_ROOT / "reports"
SEEDS_DIR = PROJ_ROOT.parent / "shared" / "seeds"


def analysis_plan_for(instrument_path: str | Path) -> Path:
    """The analysis plan that sits next to an instrument: ``x.yaml`` → ``x.analysis.yaml``."""
    p = Path(instrument_path)
    return p.with_name(p.name.removesuffix(".yaml") + ".analysis.yaml")
