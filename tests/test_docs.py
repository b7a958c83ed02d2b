"""The documentation: the site builds strictly, and its examples run.

- ``mkdocs build --strict`` succeeds, and every ``::: target`` directive of the
  API reference rendered;
- every name in ``fastipc.__all__`` has an entry in ``docs/reference``;
- every ```` ```python ```` block in ``docs/**/*.md`` and ``README.md`` runs
  in a process of its own and exits 0, unless it is marked as a fragment.

Conventions for the Markdown files (the guides follow them too):

- a line ``<!-- fragment -->`` directly before a fence marks a block that is
  not run (part of a program, or code for another platform);
- a line ``<!-- together: NAME -->`` directly before a fence puts the block
  in a group: the blocks of one file with the same NAME start at once, each
  as a process of its own (```` ```python ```` with this interpreter,
  ```` ```js ```` with Node 22 from ``node_modules``, where
  ``import ipc from 'node-ipc'`` resolves). The first block of a group is the
  server and starts first; nothing waits for it to be ready, so the other
  blocks must retry until it is (fastipc and node-ipc clients do by
  default);
- every process must exit 0 within ``TIMEOUT`` seconds, in a fresh temporary
  working directory of its own;
- Python is fenced as ```` ```python ````: ```` ```py ````, ```` ```python3 ````
  or a fence without a language would not be run, so they are refused.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import fastipc

from .helpers import ROOT, python_env

DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
MKDOCS_YML = ROOT / "mkdocs.yml"
TIMEOUT = 60.0
SHOWN = 6000  # characters of each process's output shown when a test fails

FRAGMENT = re.compile(r"<!--\s*fragment\s*-->")
TOGETHER = re.compile(r"<!--\s*together:\s*(?P<name>[\w.-]+)\s*-->")
MARKER = re.compile(r"^\s*<!--\s*(fragment|together\b)")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\s*:::\s+(?P<target>\S+)\s*$", re.MULTILINE)

PYTHON = "python"
NODE = ("js", "javascript")
# fences that look like Python to a reader but would dodge the runner
PYTHON_LOOKALIKES = {"py", "py3", "python3", "python2", "pycon", "ipython", "pyi"}


@dataclasses.dataclass
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str  # the first word of the info string ('' for none)
    source: str
    fragment: bool
    group: str | None

    @property
    def where(self) -> str:
        return f"{_rel(self.path)}:{self.line}"


def _rel(path: Path) -> str:
    """``guides/tls.md`` for a page of the site, ``README.md`` for the README."""
    try:
        return path.relative_to(DOCS).as_posix()
    except ValueError:
        return path.relative_to(ROOT).as_posix()


def _markdown_files() -> list[Path]:
    files = sorted(DOCS.rglob("*.md")) if DOCS.is_dir() else []
    readme = ROOT / "README.md"
    return [*files, readme] if readme.exists() else files


def parse_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """Every fenced block of ``path``, and the markers that mark no fence."""
    return parse_text(path.read_text(encoding="utf-8"), path)


def parse_text(text: str, path: Path) -> tuple[list[Block], list[str]]:
    """Every fenced block of ``text`` (the contents of ``path``), and the
    markers that mark no fence."""
    lines = text.splitlines()
    blocks: list[Block] = []
    stray: list[str] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            if MARKER.match(lines[i]) and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
                stray.append(
                    f"{_rel(path)}:{i + 1}: {lines[i].strip()!r} is not directly before a fence"
                )
            i += 1
            continue
        indent = len(opening["indent"])
        fence = opening["fence"]
        info = opening["info"].strip()
        lang = re.split(r"[\s{]", info, maxsplit=1)[0] if info else ""
        previous = lines[i - 1].strip() if i > 0 else ""
        fragment = FRAGMENT.fullmatch(previous) is not None
        together = TOGETHER.fullmatch(previous)
        if MARKER.match(previous) and not (fragment or together):
            stray.append(f"{_rel(path)}:{i}: {previous!r} is not a marker the runner knows")
        body: list[str] = []
        j = i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            # content is indented like its fence (inside a list or an admonition)
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        blocks.append(
            Block(
                path=path,
                line=i + 1,
                lang=lang,
                source="\n".join(body) + "\n",
                fragment=fragment,
                group=together["name"] if together else None,
            )
        )
        i = j + 1
    return blocks, stray


def _all_blocks() -> list[Block]:
    return [block for path in _markdown_files() for block in parse_blocks(path)[0]]


def _runnable() -> list[pytest.ParameterSet]:
    """One parameter per ungrouped Python block and per group."""
    params: list[pytest.ParameterSet] = []
    groups: dict[tuple[Path, str], list[Block]] = {}
    for block in _all_blocks():
        if block.fragment:
            continue
        if block.group is not None:
            groups.setdefault((block.path, block.group), []).append(block)
        elif block.lang == PYTHON:
            params.append(pytest.param([block], id=block.where))
    for (path, name), members in groups.items():
        lines = ",".join(str(block.line) for block in members)
        params.append(pytest.param(members, id=f"{_rel(path)}:{lines}:{name}"))
    return params


# ---------------------------------------------------------------- the site


def test_mkdocs_build_strict(tmp_path):
    """The site builds with ``--strict``: no broken link, no page outside the
    nav, no reference target that does not resolve."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mkdocs", "build", "--strict"),
            *("--config-file", str(MKDOCS_YML), "--site-dir", str(site)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed (exit {result.returncode}); its output:\n"
        f"{result.stdout}{result.stderr}"
    )
    # every ::: directive rendered an entry with its identifier as anchor
    missing = []
    for page in sorted(REFERENCE.glob("*.md")):
        name = "" if page.stem == "index" else f"{page.stem}/"
        html = (site / "reference" / name / "index.html").read_text(encoding="utf-8")
        for target in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            if f'id="{target}"' not in html:
                missing.append(f"{page.name}: ::: {target}")
    assert not missing, f"directives that rendered no entry: {missing}"


def _reference_targets() -> list[str]:
    return [
        target
        for page in sorted(REFERENCE.glob("*.md"))
        for target in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    ]


def test_every_public_name_has_a_reference_entry():
    """A name added to ``fastipc.__all__`` needs a ``::: fastipc...`` entry."""
    targets = _reference_targets()
    assert targets, f"no ::: directive in {REFERENCE}"
    assert all(t.startswith("fastipc") for t in targets), targets
    documented = {target.rsplit(".", 1)[-1] for target in targets}
    missing = sorted(set(fastipc.__all__) - {"__version__"} - documented)
    assert not missing, f"public names without an entry in docs/reference: {missing}"
    for module in ("fastipc.framing", "fastipc.errors"):
        assert module in targets, f"docs/reference has no '::: {module}' entry"


# ---------------------------------------------------------------- the fences


def test_fences_are_labelled_so_the_runner_sees_python():
    """Python is fenced as ```python, so the runner below cannot miss it;
    markers sit directly before a fence; groups hold only runnable blocks."""
    problems: list[str] = []
    for path in _markdown_files():
        blocks, stray = parse_blocks(path)
        problems += stray
        for block in blocks:
            if not block.lang:
                problems.append(f"{block.where}: a fence without a language (use text, sh, ...)")
            elif block.lang.lower() in PYTHON_LOOKALIKES or (
                block.lang.lower() == PYTHON and block.lang != PYTHON
            ):
                problems.append(
                    f"{block.where}: ```{block.lang} is not run; fence Python as ```python"
                )
            if block.group is not None and block.lang not in (PYTHON, *NODE):
                problems.append(f"{block.where}: ```{block.lang} cannot run in a together group")
    assert not problems, "\n".join(problems)


def test_the_block_parser():
    """The parser behind the runner: markers, groups, indented fences."""
    text = "\n".join(
        [
            "# t",
            "<!-- fragment -->",
            "```python",
            "x = 1",
            "```",
            "<!-- together: pair -->",
            '```python title="server.py"',
            "print('s')",
            "```",
            "- item",
            "",
            "    <!-- together: pair -->",
            "    ```js",
            "    console.log('c');",
            "    ```",
            "",
            "~~~~sh",
            "```",
            "~~~~",
            "<!-- fragment -->",
            "",
            "<!-- together -->",
            "```python",
            "```",
        ]
    )
    blocks, stray = parse_text(text, DOCS / "parser-check.md")
    assert [(b.line, b.lang, b.fragment, b.group) for b in blocks] == [
        (3, "python", True, None),
        (7, "python", False, "pair"),
        (13, "js", False, "pair"),
        (17, "sh", False, None),
        (23, "python", False, None),
    ]
    assert blocks[1].source == "print('s')\n"
    assert blocks[2].source == "console.log('c');\n"
    assert blocks[3].source == "```\n"
    assert stray == [
        "parser-check.md:20: '<!-- fragment -->' is not directly before a fence",
        "parser-check.md:22: '<!-- together -->' is not a marker the runner knows",
    ]


# ---------------------------------------------------------------- the examples


def _command(block: Block, cwd: Path, request: pytest.FixtureRequest) -> list[str]:
    if block.lang == PYTHON:
        script = cwd / "example.py"
        script.write_text(block.source, encoding="utf-8")
        return [sys.executable, str(script)]
    if block.lang in NODE:
        node = request.getfixturevalue("node")  # skips (or fails) without Node
        # an ES module resolves 'node-ipc' from node_modules beside it (NODE_PATH
        # serves require() only)
        (cwd / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
        esm = re.search(r"^\s*(import|export)\s", block.source, re.MULTILINE)
        script = cwd / ("example.mjs" if esm else "example.cjs")
        script.write_text(block.source, encoding="utf-8")
        return [str(node), str(script)]
    raise AssertionError(f"{block.where}: ```{block.lang} cannot run")


@pytest.mark.parametrize("blocks", _runnable())
def test_example_runs(blocks: list[Block], tmp_path, request):
    """The block (or each block of a group, all at once) exits 0 in time."""
    # Python blocks run the fastipc installed here, with this run's codec
    env = python_env(None, NODE_PATH=str(ROOT / "node_modules"))
    procs: list[subprocess.Popen[bytes]] = []
    outputs: list[Path] = []
    try:
        for n, block in enumerate(blocks):
            cwd = tmp_path / f"block{n}-line{block.line}"
            cwd.mkdir()
            command = _command(block, cwd, request)
            output = tmp_path / f"block{n}-line{block.line}.out"
            outputs.append(output)
            with open(output, "wb") as out:
                procs.append(
                    subprocess.Popen(
                        command,
                        cwd=cwd,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        codes, timed_out = _wait_all(procs, TIMEOUT)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if any(code != 0 for code in codes):
        report = []
        for block, code, output in zip(blocks, codes, outputs, strict=True):
            if code is not None:
                status = f"exit {code}"
            elif timed_out:
                status = f"still running after {TIMEOUT:.0f} s: killed"
            else:
                status = "still running when another block of its group failed: killed"
            text = output.read_text(encoding="utf-8", errors="replace")
            if len(text) > SHOWN:
                text = "...\n" + text[-SHOWN:]
            report.append(
                f"--- {block.where} (```{block.lang}, its code starts on line "
                f"{block.line + 1}): {status}\n{text}"
            )
        pytest.fail("an example in the docs failed:\n" + "\n".join(report), pytrace=False)


def _wait_all(
    procs: list[subprocess.Popen[bytes]], timeout: float
) -> tuple[list[int | None], bool]:
    """Each process's exit code (``None`` for one still running), and whether
    the deadline passed. Waiting stops as soon as one process fails: the
    others may be waiting for it."""
    ended: queue.Queue[tuple[int, int]] = queue.Queue()

    def watch(index: int, proc: subprocess.Popen[bytes]) -> None:
        ended.put((index, proc.wait()))

    for index, proc in enumerate(procs):
        threading.Thread(target=watch, args=(index, proc), daemon=True).start()
    codes: list[int | None] = [None] * len(procs)
    deadline = time.monotonic() + timeout
    for _ in procs:
        try:
            index, code = ended.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return codes, True
        codes[index] = code
        if code != 0:
            break
    return codes, False


def test_wait_all_stops_at_the_first_failure_and_at_the_deadline():
    """The runner's wait: a failing block ends the wait for its group, and a
    block that never exits is reported as still running."""
    blocked = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # until stdin closes
    procs = [
        subprocess.Popen(blocked, stdin=subprocess.PIPE),
        subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]),
    ]
    try:
        assert _wait_all(procs, TIMEOUT) == ([None, 3], False)
        assert _wait_all(procs[:1], 0.2) == ([None], True)
    finally:
        assert procs[0].stdin is not None
        procs[0].stdin.close()
        assert procs[0].wait(TIMEOUT) == 0
    ok = [subprocess.Popen([sys.executable, "-c", "pass"]) for _ in range(2)]
    assert _wait_all(ok, TIMEOUT) == ([0, 0], False)
