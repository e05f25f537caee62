"""Named project paths. Everything the pipeline writes lives under ``data/`` or ``reports/``.

In a checkout (the folder holding ``pyproject.toml`` and ``instruments/``) the project root is
the checkout, so ``instruments/`` there is the editable source of the questionnaires. An
installed jianfu used from elsewhere reads the instruments shipped inside the package
(``importlib.resources``) and keeps ``data/`` and ``reports/`` under the current folder.
``JIANFU_HOME``, ``JIANFU_DATA_DIR`` and ``JIANFU_REPORTS_DIR`` override these.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def _project_root() -> Path:
    if os.environ.get("JIANFU_HOME"):
        return Path(os.environ["JIANFU_HOME"])
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "instruments").is_dir():
        return _CHECKOUT
    return Path.cwd()


#: Project root: the checkout, or the current folder for an installed jianfu.
PROJ_ROOT = _project_root()
#: The questionnaires: the checkout's editable ``instruments/``, else the copy shipped in the package.
INSTRUMENTS_DIR = (
    PROJ_ROOT / "instruments" if (PROJ_ROOT / "instruments").is_dir() else Path(str(files("jianfu") / "instruments"))
)
DEFAULT_INSTRUMENT = INSTRUMENTS_DIR / "cadre_burden.yaml"
#: Runtime data (inbox, archive, store, secret key); ``JIANFU_DATA_DIR`` overrides it.
DATA_DIR = Path(os.environ.get("JIANFU_DATA_DIR", PROJ_ROOT / "data"))
SAMPLE_DIR = DATA_DIR / "sample"
ARCHIVE_DIR = DATA_DIR / "archive"
STORE_DIR = DATA_DIR / "store"
INBOX_DIR = DATA_DIR / "inbox"
SECRET_FILE = DATA_DIR / ".secret_key"
REPORTS_DIR = Path(os.environ.get("JIANFU_REPORTS_DIR", PROJ_ROOT / "reports"))
SEEDS_DIR = PROJ_ROOT.parent / "shared" / "seeds"


def analysis_plan_for(instrument_path: str | Path) -> Path:
    """The analysis plan that sits next to an instrument: ``x.yaml`` → ``x.analysis.yaml``."""
    p = Path(instrument_path)
    return p.with_name(p.name.removesuffix(".yaml") + ".analysis.yaml")
