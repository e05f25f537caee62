"""Reading the printed output of the R reference scripts in ``tests/reference/``."""

from __future__ import annotations

from pathlib import Path

REF = Path(__file__).parent / "reference"


def read_keyed(name: str) -> dict[tuple[str, str], dict[str, float]]:
    """Lines ``KIND NAME key value key value …`` (``#`` comments skipped) as ``{(KIND, NAME): {key: value}}``."""
    out = {}
    for line in (REF / name).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, name_, *rest = line.split()
        out[kind, name_] = {rest[i]: float(rest[i + 1]) for i in range(0, len(rest), 2)}
    return out
