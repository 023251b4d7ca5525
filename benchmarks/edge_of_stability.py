"""The edge of stability (Cohen et al., ICLR 2021) reproduced on scikit-learn's digits.

The configuration of the lab's issue: the first 1,000 digits (pixels / 16, centred),
a 64-200-200-10 tanh network with the identity output and squared error against
one-hot targets, float64, the lecture's full-batch gradient descent from one
initialisation for each learning rate, the sharpness lambda_max of the full-batch
Hessian (Lanczos on R-operator products) every ``--every`` steps.  Prints, for each
eta, the numbers the paper's claims are about, and writes the figure.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/edge_of_stability.py
    python benchmarks/edge_of_stability.py --steps 1000 --lrs 0.2   # a quicker look

The claims: at every eta the sharpness rises (progressive sharpening) until it
reaches 2/eta; then it hovers just above 2/eta instead of rising further, while the
loss keeps falling over the long run, non-monotonically.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy
from sklearn.datasets import load_digits

import deltaprop
from deltaprop import Network
from deltaprop.lab import edge_of_stability
from deltaprop.plots import plot_edge_of_stability, save_figure

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "edge-of-stability.png"


def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    X = X[:n] / 16.0
    return X - X.mean(axis=0), np.eye(10)[y[:n]]


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.2, 2 / 15, 0.05])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--n", type=int, default=1000, help="the first n digits")
    parser.add_argument("--seed", type=int, default=0, help="the initial weights' seed")
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()

    X, Y = digits(args.n)
    net = Network([64, 200, 200, 10], activation="tanh", output="identity", random_state=args.seed)
    start = time.perf_counter()
    result = edge_of_stability(net, X, Y, lrs=args.lrs, steps=args.steps, every=args.every, random_state=0)
    seconds = time.perf_counter() - start

    print(f"digits[:{args.n}], 64-200-200-10 tanh, squared error, float64, seed {args.seed}")
    print(f"{args.steps} steps per eta, sharpness every {args.every}; {seconds:.0f} s in all")
    print(
        f"deltaprop {deltaprop.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"Python {platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print()
    print(result)
    print()
    print("eta  2/eta  sharpness: start  min  max  quartiles of sharpness/(2/eta) after reaching 2/eta")
    for run in result.runs:
        s = run.sharpness[np.isfinite(run.sharpness)]
        line = f"{run.lr:g}  {run.threshold:g}  {s[0]:.2f}  {s.min():.2f}  {s.max():.2f}"
        if run.reached_step is not None:
            after = run.ratios[run.steps > run.reached_step]
            q1, q2, q3 = np.quantile(after, [0.25, 0.5, 0.75])
            losses = run.losses[run.reached_step :]
            line += (
                f"  {q1:.3f} {q2:.3f} {q3:.3f};  loss at reaching {losses[0]:.4g}, final {losses[-1]:.4g}, "
                f"highest after {losses.max():.4g}, {np.count_nonzero(np.diff(losses) > 0)} rises"
            )
        low = int(np.argmin(s))
        rising = bool(np.all(np.diff(s[low:]) > 0))
        line += f";  minimum at step {int(run.steps[low])}, rising at every measurement after it: {rising}"
        print(line)

    fig = plot_edge_of_stability(result)
    fig.suptitle(f"Edge of stability: digits[:{args.n}], 64-200-200-10 tanh, squared error, full-batch GD")
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, args.figure)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
