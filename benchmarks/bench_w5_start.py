"""W5 end to end against another deltaprop tree: ``import deltaprop`` and the whole fit, fresh processes.

The engine issue's rule for the lecture's toy fit (two moons, [2, 8, 8, 2], 200 samples,
500 full-batch GD steps): never slower end to end than the NumPy fast path that the
engine replaced.  This script runs W5 in fresh processes, alternating this checkout and
another tree (the one before the engine's merge, checked out beside it), and times what
deltaprop adds to a script that has already imported NumPy and scikit-learn and made its
data: the import of ``Network`` and ``fit``, and the fit.  Each process writes its
bytecode first (a warm-up run per tree), so both trees are timed as installed.

    git worktree add /tmp/before-engine 61579c7^
    python benchmarks/bench_w5_start.py /tmp/before-engine/src --pairs 40

The machines are shared and their speed drifts, so only the paired differences (the two
trees run back to back, in alternating order) mean much; ``--threads 1`` limits BLAS.
OpenBLAS's ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` are unset for the processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src"

SCRIPT = """
import time
import numpy as np
from sklearn.datasets import make_moons
X, y = make_moons(200, noise=0.2, random_state=0)
Y = np.eye(2)[y]
start = time.perf_counter()
from deltaprop import Network
from deltaprop.train import fit
imported = time.perf_counter()
net = Network([2, 8, 8, 2], random_state=0)
fit(net, X, Y, optimizer="gd", learning_rate=0.1, epochs=500)
print(imported - start, time.perf_counter() - imported, float(np.abs(net.W[0]).sum()))
"""


def _run(src: Path, env: dict[str, str]) -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env={**env, "PYTHONPATH": str(src)}, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"W5 failed in {src}:\n{out.stderr}")
    imported, fitted, weights = (float(x) for x in out.stdout.split())
    return imported, fitted, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other tree's src directory (holding deltaprop/)")
    parser.add_argument("--pairs", type=int, default=40, help="runs of each tree, alternating (default 40)")
    parser.add_argument("--threads", type=int, default=None, help="OPENBLAS_NUM_THREADS for the runs")
    args = parser.parse_args()
    if not (args.other / "deltaprop" / "__init__.py").is_file():
        parser.error(f"{args.other} holds no deltaprop package (give the tree's src directory)")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    trees = {"this tree": HERE, "other tree": args.other.resolve()}
    weights = {name: _run(src, env)[2] for name, src in trees.items()}  # writes the bytecode
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for i in range(args.pairs):
        for name in list(trees) if i % 2 == 0 else list(trees)[::-1]:
            imported, fitted, _ = _run(trees[name], env)
            times[name].append((imported, fitted))
    print(f"W5 in fresh processes, {args.pairs} runs of each tree, medians (ms):")
    print("| tree | import | fit (500 steps) | import + fit | sum |W^(1)| after |")
    print("|---|---|---|---|---|")
    for name, runs in times.items():
        columns = [[a for a, _ in runs], [b for _, b in runs], [a + b for a, b in runs]]
        imp, fit, both = (statistics.median(column) * 1e3 for column in columns)
        print(f"| {name} | {imp:.1f} | {fit:.1f} | {both:.1f} | {weights[name]:.6f} |")
    diffs = [sum(a) - sum(b) for a, b in zip(times["this tree"], times["other tree"], strict=True)]
    faster = sum(d < 0 for d in diffs)
    print(
        f"this tree - other tree, import + fit: median {statistics.median(diffs) * 1e3:+.1f} ms; "
        f"this tree faster in {faster} of {len(diffs)} pairs"
    )


if __name__ == "__main__":
    main()
