"""A Node peer process that speaks JSON lines, shared by the interop tests.

The process gets its arguments on the command line, commands as JSON lines
on stdin, and reports events as JSON lines on stdout (``{"ev": ...}``). It
exits when stdin closes, so it never outlives its test; :meth:`close` ends
it and closes every pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from typing import Any

import pytest

from ..helpers import NODE_DIR, WAIT

#: Upper bound (seconds) of a wait on a Node peer: Node starts slower than a thread.
NODE_WAIT = 2 * WAIT


class NodeProcess:
    """One Node script run with Node 22; lines read are kept in :attr:`seen`,
    those a :meth:`poll` passed over also in :attr:`skipped`."""

    label = "node peer"

    def __init__(
        self,
        node: os.PathLike[str],
        script: str,
        *args: str,
        spec: Any = None,
        report: os.PathLike[str] | None = None,
    ) -> None:
        """Start ``node script *args``.

        With ``report``, the peer writes its lines to that file (the
        ``FASTIPC_PEER_OUT`` it is given) and its stdout goes to a file
        beside it: Windows Node under Wine cannot write to a pipe.
        """
        self.spec = spec
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self._stderr: list[str] = []
        self._report = report
        env = None
        stdout: Any = subprocess.PIPE
        if report is not None:
            env = {**os.environ, "FASTIPC_PEER_OUT": os.fspath(report)}
            open(report, "w").close()
            stdout = open(os.fspath(report) + ".stdout", "w")
        self.proc = subprocess.Popen(
            [os.fspath(node), str(NODE_DIR / script), *args],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=subprocess.STDOUT if report is not None else subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        if report is not None:
            stdout.close()
            self._readers = [threading.Thread(target=self._read_report, daemon=True)]
        else:
            self._readers = [
                threading.Thread(target=self._read_stdout, daemon=True),
                threading.Thread(target=self._read_stderr, daemon=True),
            ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def _read_report(self) -> None:
        # follow the report file until the process has ended and all is read
        assert self._report is not None
        with open(self._report, encoding="utf-8") as report:
            tail = ""
            while True:
                ended = self.proc.poll() is not None
                chunk = report.read()
                tail += chunk
                *complete, tail = tail.split("\n")
                for line in complete:
                    if line.strip():
                        self.lines.put(json.loads(line))
                if ended and not chunk:
                    break
                if not chunk:
                    # nothing new: wait for more to be written, or for the
                    # process to end (a file has no readiness to wait on)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.proc.wait(0.01)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:  # the peer is gone
            pytest.fail(
                f"{self.label}: cannot send {command.get('cmd')!r}: {exc}; {self.diagnostics()}"
            )

    def poll(self, ev: str, timeout: float, **fields: Any) -> dict[str, Any] | None:
        """The next line for ``ev`` (with these ``fields``) within ``timeout``, else ``None``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)  # stays ended for later waits
                return None
            self.seen.append(line)
            if line.get("ev") == ev and all(line.get(k) == v for k, v in fields.items()):
                return line
            self.skipped.append(line)

    def wait(self, ev: str, timeout: float = NODE_WAIT, **fields: Any) -> dict[str, Any]:
        line = self.poll(ev, timeout, **fields)
        if line is None:
            pytest.fail(
                f"{self.label}: no {ev!r} {fields or ''} within {timeout}s; {self.diagnostics()}"
            )
        return line

    def seen_of(self, ev: str) -> list[dict[str, Any]]:
        """Every line read so far for ``ev``."""
        return [line for line in self.seen if line.get("ev") == ev]

    def diagnostics(self) -> str:
        seen = [json.dumps(line)[:200] for line in self.seen[-10:]]
        if self._report is not None:
            with contextlib.suppress(OSError), open(os.fspath(self._report) + ".stdout") as out:
                self._stderr = [out.read()]
        return (
            f"spec={self.spec} returncode={self.proc.poll()} seen={seen} "
            f"stderr={''.join(self._stderr)[-2000:]!r}"
        )

    def kill(self) -> None:
        """End the process now (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    assert self.proc.stdin is not None
                    self.proc.stdin.close()  # the peer exits when stdin ends
                    self.proc.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self.kill()
        finally:
            for reader in self._readers:
                reader.join(5)
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()


#: A marker for "emit without data" in the case tables of the interop tests.
OMIT = object()


class NodePeer(NodeProcess):
    """One ``peer.mjs`` (or ``recorder.mjs``) process."""

    def __init__(
        self,
        node: os.PathLike[str],
        spec: dict[str, Any],
        script: str = "peer.mjs",
        report: os.PathLike[str] | None = None,
    ) -> None:
        arg = json.dumps(spec) if script == "peer.mjs" else spec["path"]
        super().__init__(node, script, arg, spec=spec, report=report)

    def events(self, count: int, timeout: float = NODE_WAIT) -> list[tuple[str, Any]]:
        """The next ``count`` application events, as ``(type, data)``."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self.poll("event", max(deadline - time.monotonic(), 0))
            if line is None:
                pytest.fail(
                    f"node peer: {len(got)} of {count} events within {timeout}s; {self.diagnostics()}"
                )
            got.append((line["type"], line.get("data", OMIT)))
        return got


def node_sends(version: str, value: Any, expected: Any) -> Any:
    """What fastipc receives when node-ipc ``version`` emits ``value``."""
    if version == "9" and (value is None or value == ""):
        # 9.2.1's format() replaces falsy data other than false and 0 with {}
        return {}
    return expected
