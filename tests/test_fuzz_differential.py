"""The differential codec fuzzer (scripts/fuzz_codecs.py), short: fixed seeds, bounded counts.

The long run (10 million inputs, figures in bench/FUZZ.md) uses the same
harness. Here it runs a few thousand inputs on fixed seeds, and is shown to
fail when a twin is wrong: a fuzzer that cannot fail proves nothing.
"""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys
from collections import Counter
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from fastipc import errors

from .helpers import load_impl

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fuzz_codecs.py"
SEEDS = (1, 2, 3, 4)
COUNT = 640  # ten batches per seed


def _load_script() -> ModuleType:
    name = "fastipc_fuzz_codecs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


fuzz = _load_script()


@pytest.fixture(scope="module")
def twins() -> Any:
    """The real twins: the compiled codec (required where it was built) and the pure one."""
    return fuzz.Twins(load_impl("cython"), load_impl("python"))


@pytest.fixture(scope="module")
def fixed_runs(twins: Any) -> dict[int, Any]:
    return {seed: fuzz.run_fuzz(seed, COUNT, twins) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_twins_agree_on_fixed_seeds(fixed_runs: dict[int, Any], seed: int) -> None:
    """On each fixed seed the twins agree on every input, and valid streams decode whole."""
    stats = fixed_runs[seed]
    assert [d.report() for d in stats.disagreements] == []
    assert stats.inputs == COUNT
    assert stats.valid > 0 and stats.invalid > 0
    assert stats.events > 0 and stats.encodes > 0


def test_fixed_seeds_reach_every_decoder_error_and_profile(fixed_runs: dict[int, Any]) -> None:
    """The generator is not toothless: together the fixed seeds make every profile
    run, every kind of fault, and every protocol error code a decoder can raise."""
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    profiles: Counter[str] = Counter()
    for stats in fixed_runs.values():
        outcomes.update(stats.outcomes)
        kinds.update(stats.kinds)
        profiles.update(stats.profiles)
    decoder_codes = {
        "ERR_IPC_INVALID_JSON",
        "ERR_IPC_INVALID_MESSAGE",
        "ERR_IPC_INVALID_EVENT",
        "ERR_IPC_EVENT_TOO_LARGE",
        "ERR_IPC_RESERVED_EVENT",
        "ERR_IPC_EVENT_NOT_ALLOWED",
        "ERR_IPC_FRAME_TOO_LARGE",
    }
    assert decoder_codes <= set(outcomes), outcomes
    assert set(profiles) == {"raw", "fast", "guarded", "assured"}
    faults = {
        "truncated", "envelope", "bad_name", "long_name", "not_allowed", "bad_utf8",
        "raw_control", "frame_too_large", "tail_too_large", "garbage", "delimiter_in_string",
        "byte_flip", "deep_nesting", "nul_bytes", "unfinished_tail", "spliced",
    }  # fmt: skip
    assert faults | {"valid"} == set(kinds), kinds


# --------------------------------------------------------------------------
# the harness catches a wrong twin


class _DropPing:
    """The pure twin, except that its decoder loses every ``ping`` event."""

    def __init__(self, py: ModuleType) -> None:
        self.encode_event = py.encode_event
        self.encode_raw = py.encode_raw

        class EventDecoder(py.EventDecoder):  # type: ignore[name-defined, misc]
            __slots__ = ()

            def feed(self, chunk: Any) -> list[tuple[str, Any]]:
                return [e for e in super().feed(chunk) if e[0] != "ping"]

        self.EventDecoder = EventDecoder


class _WrongCode:
    """The pure twin, except that a reserved name is reported as an invalid one."""

    def __init__(self, py: ModuleType) -> None:
        self.encode_event = py.encode_event
        self.encode_raw = py.encode_raw

        class EventDecoder(py.EventDecoder):  # type: ignore[name-defined, misc]
            __slots__ = ()

            def feed(self, chunk: Any) -> list[tuple[str, Any]]:
                try:
                    return super().feed(chunk)
                except errors.ReservedEventError as exc:
                    wrong = errors.InvalidEventError(str(exc))
                    wrong.events = exc.events
                    raise wrong from None

        self.EventDecoder = EventDecoder


class _PendingOffByOne:
    """The pure twin, except that ``pending`` counts one byte too many when it is not 0."""

    def __init__(self, py: ModuleType) -> None:
        self.encode_event = py.encode_event
        self.encode_raw = py.encode_raw

        class EventDecoder(py.EventDecoder):  # type: ignore[name-defined, misc]
            __slots__ = ()

            @property
            def pending(self) -> int:
                held: int = py.EventDecoder.pending.__get__(self)
                return held + 1 if held else 0

        self.EventDecoder = EventDecoder


class _EncodeSpace:
    """The pure twin, except that ``encode_event`` writes a space after the type of ``a``."""

    def __init__(self, py: ModuleType) -> None:
        self.EventDecoder = py.EventDecoder
        self.encode_raw = py.encode_raw

        def encode_event(type: Any, data: Any = py.OMITTED, delimiter: Any = "\f") -> bytes:
            frame: bytes = py.encode_event(type, data, delimiter)
            return frame.replace(b'{"type":"a",', b'{"type":"a" ,', 1)

        self.encode_event = encode_event


@pytest.mark.parametrize(
    ("fake", "what"),
    [
        (_DropPing, "disagreement"),
        (_WrongCode, "disagreement"),
        (_PendingOffByOne, "disagreement"),
        (_EncodeSpace, "encode_event"),
    ],
)
def test_harness_reports_a_wrong_twin(twins: Any, fake: type, what: str) -> None:
    """A twin with one planted fault fails the run, with the seed, the input and both
    results printed, and replaying that seed shows the same failure at the same input."""
    wrong = fuzz.Twins(twins.a, fake(twins.b), "cython", "fake")
    stats = None
    for seed in SEEDS:
        stats = fuzz.run_fuzz(seed, COUNT, wrong)
        if stats.disagreements:
            break
    assert stats is not None and stats.disagreements, "the planted fault went unnoticed"
    assert len(stats.disagreements) == 1  # stops at the first unless told to go on
    first = stats.disagreements[0]
    assert first.what == what
    report = first.report()
    assert f"seed {first.seed} input {first.index}" in report
    assert f"--replay {first.seed}" in report
    assert "cython:" in report and "fake:" in report
    if what == "disagreement":
        assert "input (" in report and "chunk lengths:" in report
    again = fuzz.replay(first.seed, wrong)
    assert again.disagreements and again.disagreements[0].index == first.index
    assert again.disagreements[0].details == first.details
    assert fuzz.replay(first.seed, twins).disagreements == []  # the real twins agree there


def test_keep_going_reports_every_failure(twins: Any) -> None:
    """--keep-going is the only way past a disagreement: it runs on and lists them all."""
    wrong = fuzz.Twins(twins.a, _DropPing(twins.b), "cython", "fake")
    stopped = fuzz.run_fuzz(1, COUNT, wrong)
    kept = fuzz.run_fuzz(1, COUNT, wrong, keep_going=True)
    assert len(stopped.disagreements) == 1 and stopped.inputs < COUNT
    assert kept.inputs == COUNT and len(kept.disagreements) > 1


def test_comparison_is_exact() -> None:
    """The comparison tells apart what == would not, and lets NaN equal NaN."""
    nan = float("nan")
    assert fuzz.same([("a", [1, nan, {"k": b"x"}])], [("a", [1, float("nan"), {"k": b"x"}])])
    assert not fuzz.same([("a", 1)], [("a", 1.0)])
    assert not fuzz.same([("a", 1)], [("a", True)])
    assert not fuzz.same([("a", 0.0)], [("a", -0.0)])
    assert not fuzz.same([("a", b"\x01")], [("a", [1])])
    assert not fuzz.same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    deep_a: list[Any] = []
    deep_b: list[Any] = []
    for _ in range(5000):
        deep_a, deep_b = [deep_a], [deep_b]
    assert fuzz.same(deep_a, deep_b)
    deep_b[0] = 1
    assert not fuzz.same(deep_a, deep_b)


# --------------------------------------------------------------------------
# the command line: workers in subprocesses, crashes and hangs


def _cli(*args: str) -> SimpleNamespace:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    return SimpleNamespace(code=done.returncode, out=done.stdout + done.stderr)


def test_cli_with_workers_passes_on_real_twins(twins: Any) -> None:
    """Two worker subprocesses share the batches and the totals add up."""
    got = _cli("--inputs", "1000", "--seed", "7", "--workers", "2")
    assert got.code == 0, got.out
    assert "inputs 1,000 (valid" in got.out and "RESULT: PASS" in got.out
    assert "inputs/s" in got.out and "slowest input" in got.out


def test_cli_reports_a_crashed_worker_with_its_seed(twins: Any) -> None:
    """A segfault in a twin kills only its worker: the run fails and names the batch seed."""
    got = _cli("--inputs", "2000", "--seed", "7", "--workers", "1", "--impl-b", "selftest-crash")
    assert got.code == 1, got.out
    assert "CRASH: worker 0 died (signal SIGSEGV) in batch seed 7:" in got.out
    assert "--replay 7:" in got.out and "RESULT: FAIL" in got.out


def test_cli_reports_a_slow_input_as_a_hang(twins: Any) -> None:
    """An input that takes longer than --hang-seconds fails the run."""
    got = _cli(
        "--inputs", "2000", "--seed", "7", "--impl-b", "selftest-hang", "--hang-seconds", "0.5"
    )  # fmt: skip
    assert got.code == 1, got.out
    assert "FUZZ FAILURE (hang) at seed 7:" in got.out and "RESULT: FAIL" in got.out


def test_cli_replay_of_a_clean_batch_passes(twins: Any) -> None:
    got = _cli("--replay", "7:3")
    assert got.code == 0, got.out
    assert "replayed 64 inputs of batch 7:3: 0 failure(s)" in got.out
