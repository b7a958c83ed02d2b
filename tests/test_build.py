"""The build degrades loudly: no compiler means the pure-Python codec,
unless FASTIPC_BUILD_EXTENSION=1 makes that an error; the sdist carries
the Cython source."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest

from .helpers import ROOT

SOURCES = ["src", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE"]


@pytest.fixture
def source_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """A clean copy of the source tree (no build/ left over from elsewhere)."""
    dest = tmp_path / "src-tree"
    dest.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path,
                dest / name,
                ignore=shutil.ignore_patterns("*.so", "_framing.c", "__pycache__", "*.egg-info"),
            )
        else:
            shutil.copy(path, dest / name)
    return dest


def _pip_install(
    tree: pathlib.Path, target: pathlib.Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "--no-cache-dir",
            "-v",
            "--target",
            str(target),
            str(tree),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CC": "false", "FASTIPC_BUILD_EXTENSION": "", **env},
        timeout=300,
    )


def test_install_without_a_compiler_uses_the_python_codec(source_copy, tmp_path):
    target = tmp_path / "site"
    out = _pip_install(source_copy, target)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "installing the pure-Python codec" in out.stdout + out.stderr
    assert not list(target.glob("fastipc/_framing*.so"))
    check = subprocess.run(
        [sys.executable, "-c", "import fastipc.framing as f; print(f.IMPLEMENTATION)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
        check=True,
    )
    assert check.stdout.strip() == "python"


def test_required_extension_makes_a_failed_compile_fatal(source_copy, tmp_path):
    out = _pip_install(source_copy, tmp_path / "site", FASTIPC_BUILD_EXTENSION="1")
    assert out.returncode != 0
    assert "FASTIPC_BUILD_EXTENSION=1" in out.stdout + out.stderr


def test_sdist_carries_the_cython_source(source_copy, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--no-isolation",
            "--outdir",
            str(tmp_path / "dist"),
            str(source_copy),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FASTIPC_NO_EXTENSIONS": "1"},
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (sdist,) = (tmp_path / "dist").glob("fastipc_node-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for needed in [
        "src/fastipc/_framing.pyx",
        "src/fastipc/_framing.pyi",
        "src/fastipc/_framing_py.py",
        "src/fastipc/py.typed",
        "src/fastipc/_pipe_win.c",
        "src/fastipc/_pipe_win.pyi",
        "setup.py",
        "pyproject.toml",
    ]:
        assert needed in names, needed
    assert "src/fastipc/_framing.c" not in names
