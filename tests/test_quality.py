"""The checks of STYLE.md that keep the source clean: ruff (lint and
format) over src, tests and bench, cython-lint over the Cython codec, and
mypy --strict over src."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import ROOT

CHECKED = ("src", "tests", "bench")
#: This interpreter's scripts (cython-lint has no ``-m`` form, and runs pycodestyle by name).
SCRIPTS = os.path.dirname(sys.executable)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": os.pathsep.join([SCRIPTS, os.environ.get("PATH", "")])}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_ruff_is_clean():
    out = _run(sys.executable, "-m", "ruff", "check", *CHECKED)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("tree", CHECKED)
def test_ruff_format_is_clean(tree):
    out = _run(sys.executable, "-m", "ruff", "format", "--check", tree)
    assert out.returncode == 0, out.stdout + out.stderr


def test_cython_lint_is_clean():
    # settings: [tool.cython-lint] in pyproject.toml
    out = _run(os.path.join(SCRIPTS, "cython-lint"), "src/fastipc/_framing.pyx")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean():
    out = _run(sys.executable, "-m", "mypy", "src")  # [tool.mypy] strict = true
    assert out.returncode == 0, out.stdout + out.stderr
