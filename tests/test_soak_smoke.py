"""The soak script (scripts/soak.py) at a few thousand events, so it cannot rot.

The full soak (10 million events through one connection, 1 million through
each of 100) runs by hand; its figures are in bench/SOAK.md. Here the same
script runs end to end with tiny counts: real server and client processes over
a Unix socket, both codecs, two client processes. It must pass, and it must
fail (exit 1) when a client skips or repeats a sequence number, which shows the
per-connection checks are live.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import ROOT

SOAK = ROOT / "scripts" / "soak.py"


def run_soak(*extra: str) -> subprocess.CompletedProcess[str]:
    """Run the soak script with small counts and a bound of its own."""
    cmd = [sys.executable, str(SOAK), "--timeout", "60", "--stall", "30", *extra]
    env = dict(os.environ)
    env.pop("FASTIPC_NO_EXTENSIONS", None)  # the script picks the codec per child
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_soak_small_counts_pass_with_both_codecs() -> None:
    """Both codecs, both scenarios: every event counted, RSS and fds within bounds, exit 0."""
    out = run_soak(
        "--codec", "both", "--one", "3000", "--many", "300", "--connections", "6",
        "--client-procs", "2",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    for codec in ("cython", "python"):
        assert f"soak: {codec}/one: 3,000 messages" in out.stdout, out.stdout
        assert f"soak: {codec}/many: 1,800 messages" in out.stdout, out.stdout
    assert out.stdout.count(": ok\n") == 4, out.stdout
    assert "| (client2) |" in out.stdout, out.stdout  # the second client process was sampled
    assert out.stdout.rstrip().endswith("soak: passed"), out.stdout


@pytest.mark.parametrize("fault", ["skip", "dup"])
def test_soak_fails_on_a_lost_or_duplicated_event(fault: str) -> None:
    """A client that skips or repeats one sequence number makes the run exit 1, naming it."""
    out = run_soak("--codec", "cython", "--one", "2000", "--many", "0", "--fault", fault)
    assert out.returncode == 1, out.stdout + out.stderr
    want = "(lost)" if fault == "skip" else "(duplicate or out of order)"
    assert "got seq 1000, expected" in out.stdout or "got seq 1001, expected" in out.stdout
    assert want in out.stdout, out.stdout
    assert out.stdout.rstrip().endswith("soak: FAILED"), out.stdout
