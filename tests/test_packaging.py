"""An installed jianfu (a wheel, not the editable checkout) works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from jianfu import paths
from jianfu.synth import simulate, write_survey

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_validates_and_templates_from_another_folder(inst, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("jianfu-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The third-party dependencies come from the test's environment, appended after the fresh venv's own
    # site-packages (a plain path entry: the checkout's editable hook in there is not activated).
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "office"
    elsewhere.mkdir()
    upload = write_survey(simulate(inst, n=60, seed=5), inst, elsewhere / "wjx.xlsx", fmt="wjx-text")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIANFU_")}
    where = subprocess.run(
        [str(py), "-c", "import jianfu, jianfu.paths as p; print(jianfu.__file__); print(p.DEFAULT_INSTRUMENT)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(site) and Path(where[1]).is_relative_to(site), where
    assert not Path(where[1]).is_relative_to(ROOT)

    jianfu = venv / "bin" / "jianfu"
    ok = subprocess.run(
        [str(jianfu), "validate", upload.name], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    made = subprocess.run(
        [str(jianfu), "template", "-o", "模板.xlsx"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert (elsewhere / "模板.xlsx").stat().st_size > 5_000
    # Nothing was written into the installed package or next to the checkout.
    assert not (site / "jianfu" / "data").exists() and paths.PROJ_ROOT == ROOT
