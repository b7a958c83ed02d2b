"""The checks of STYLE.md that keep the source clean: ruff and mypy --strict."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_is_clean():
    out = _run("ruff", "check", "src", "bench")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean():
    out = _run("mypy", "src")  # [tool.mypy] strict = true
    assert out.returncode == 0, out.stdout + out.stderr
