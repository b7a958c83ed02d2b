"""Before/after ratios of bench/e2e results over alternating rounds.

Run ``bench/e2e/run.py --runs 1 --out DIR/before-N`` from the old tree and
``--out DIR/after-N`` from the new one, alternating, N = 1, 2, ...; then::

    python bench/e2e/compare.py DIR

prints, for every cell, the median of each side's rounds, the ratio (above 1:
the new tree is better, whichever way the metric points), and the run-to-run
spread: the largest distance of any round from its side's median. A cell
whose ratio is further from 1 than its spread is called better or worse.
"""

from __future__ import annotations

import glob
import json
import statistics
import sys

HIGHER_IS_BETTER = {
    "rate": True,
    "mb_per_s": True,
    "p50_us": False,
    "p99_us": False,
    "kib_per_conn": False,
}


def load(folder: str, side: str) -> list[dict]:
    rounds = []
    for path in sorted(glob.glob(f"{folder}/{side}-*/e2e.json")):
        with open(path) as f:
            data = json.load(f)
        if data["failures"]:
            raise SystemExit(f"{path}: failed runs: {data['failures']}")
        rounds.append(data["medians"])
    if not rounds:
        raise SystemExit(f"no {side}-*/e2e.json under {folder}")
    return rounds


def main(folder: str) -> int:
    before, after = load(folder, "before"), load(folder, "after")
    print(f"rounds: before {len(before)}, after {len(after)}\n")
    print("| subject | cell | metric | before | after | ratio (>1 better) | spread | verdict |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    ratios, worse = [], 0
    for subject, cells in after[0].items():
        for cell, metrics in cells.items():
            for metric in metrics:
                b = [r[subject][cell][metric] for r in before if cell in r.get(subject, {})]
                a = [r[subject][cell][metric] for r in after if cell in r.get(subject, {})]
                if not b:
                    continue
                mb, ma = statistics.median(b), statistics.median(a)
                ratio = ma / mb if HIGHER_IS_BETTER[metric] else mb / ma
                spread = max(max(abs(x / mb - 1) for x in b), max(abs(x / ma - 1) for x in a))
                verdict = "within noise"
                if abs(ratio - 1) > spread:
                    verdict = "better" if ratio > 1 else "WORSE beyond noise"
                    worse += ratio < 1
                ratios.append(ratio)
                number = "{:,.0f}" if metric == "rate" else "{:,.1f}"
                print(
                    f"| {subject} | {cell} | {metric} | {number.format(mb)} | {number.format(ma)} "
                    f"| {ratio:.2f} | ±{spread * 100:.0f}% | {verdict} |"
                )
    print(
        f"\ncells worse beyond noise: {worse} of {len(ratios)}; "
        f"geometric mean ratio {statistics.geometric_mean(ratios):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/ab"))
