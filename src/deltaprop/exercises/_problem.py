"""A backpropagation exercise: a small network with given numbers, and its solution.

The problem is one step of the lecture's algorithm, by hand: for given W^(h), b^(h), a
batch X (one sample per row) and targets Y, compute

    a^(h) = z^(h-1) W^(h)T + b^(h),  z^(h) = sigma(a^(h)),  f = z^(D) = sigma_out(a^(D))
    delta^(D) = f - Y                                     (per sample, no 1/n)
    delta^(h) = sigma'(a^(h)) o (delta^(h+1) W^(h+1))     (row form of W^(h+1)T delta^(h+1))
    dL/dW^(h) = (1/n) sum_i delta^(h)_i z^(h-1)_i^T + lambda W^(h)
    dL/db^(h) = (1/n) sum_i delta^(h)_i                   (biases are not penalised)
    W^(h) <- W^(h) - eta dL/dW^(h),  b^(h) <- b^(h) - eta dL/db^(h)

All widths are equal (M_0 = ... = M_D), so every W^(h) is square and a transposition
mistake gives wrong numbers instead of a shape error; the given numbers are multiples of
1/4 and 1/2, exact in binary, so that for ReLU one pre-activation is exactly 0 (where
ReLU'(0) = 0 matters).  :func:`solve` computes the solution, and, with ``mistakes``,
the answer of a student who makes those mistakes: that is how the grader names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deltaprop._checks import check_scalar
from deltaprop._types import Array
from deltaprop.activations import get_activation
from deltaprop.losses import get_output

# The activations an exercise may use, with sigma and sigma' as a student writes them in NumPy.
ACTIVATION_CODE: dict[str, tuple[str, str]] = {
    "identity": ("a", "np.ones_like(a)"),
    "sigmoid": ("1 / (1 + np.exp(-a))", "z * (1 - z)"),
    "tanh": ("np.tanh(a)", "1 - z**2"),
    "relu": ("np.maximum(a, 0)", "(a > 0).astype(float)"),
}
OUTPUT_CODE: dict[str, str] = {
    "softmax": "np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)",
    "sigmoid": "1 / (1 + np.exp(-a))",
    "identity": "a",
}
LOSS_NAMES = {"softmax": "cross-entropy", "sigmoid": "binary cross-entropy", "identity": "squared error / 2"}


@dataclass(frozen=True)
class Problem:
    """The given numbers of an exercise (``W[h-1]`` = W^(h), rows of X are samples)."""

    depth: int
    activation: str
    output: str
    seed: int
    W: tuple[Array, ...]
    b: tuple[Array, ...]
    X: Array
    Y: Array
    lr: float
    l2: float

    @property
    def n(self) -> int:
        """The number of samples."""
        return int(self.X.shape[0])

    @property
    def width(self) -> int:
        """M_0 = M_1 = ... = M_D."""
        return int(self.X.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the settings and every array as nested lists."""
        return {
            "depth": self.depth,
            "activation": self.activation,
            "output": self.output,
            "seed": self.seed,
            "lr": self.lr,
            "l2": self.l2,
            "W": [w.tolist() for w in self.W],
            "b": [v.tolist() for v in self.b],
            "X": self.X.tolist(),
            "Y": self.Y.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        """The inverse of :meth:`to_dict`."""
        try:
            return cls(
                depth=int(data["depth"]),
                activation=str(data["activation"]),
                output=str(data["output"]),
                seed=int(data["seed"]),
                W=tuple(np.array(w, dtype=np.float64) for w in data["W"]),
                b=tuple(np.array(v, dtype=np.float64) for v in data["b"]),
                X=np.array(data["X"], dtype=np.float64),
                Y=np.array(data["Y"], dtype=np.float64),
                lr=float(data["lr"]),
                l2=float(data["l2"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"This is not a problem file written by 'deltaprop exercise backprop' ({error})."
            ) from None


def _check_int(value: Any, name: str, low: int, high: int) -> None:
    check_scalar(value, name, low=low, integer=True)
    if value > high:
        raise ValueError(
            f"The {name!r} parameter must be <= {high}: an exercise is done by hand. Got {value!r} instead."
        )


def make_problem(
    depth: int = 2,
    activation: str = "tanh",
    seed: int = 0,
    batch: int = 1,
    output: str = "softmax",
    width: int = 3,
    lr: float = 0.5,
    l2: float = 0.1,
) -> Problem:
    """Draw a problem: a depth-``depth`` network of ``width`` units per layer with given numbers.

    Parameters
    ----------
    depth : int, default 2
        D, the number of weight layers (1 to 4).
    activation : {"identity", "sigmoid", "tanh", "relu"}, default "tanh"
        The hidden layers' sigma.
    seed : int, default 0
        The same seed gives the same problem.
    batch : int, default 1
        n, the samples in X (the 1/n of the gradient shows from n = 2).
    output : {"softmax", "sigmoid", "identity"}, default "softmax"
        The output unit with its loss.
    width : int, default 3
        M_0 = ... = M_D (2 to 5).
    lr, l2 : float, default 0.5 and 0.1
        eta of the step and the lecture's lambda.

    Examples
    --------
    >>> problem = make_problem(depth=2, activation="relu", seed=0)
    >>> [w.shape for w in problem.W], problem.X.shape
    ([(3, 3), (3, 3)], (1, 3))
    """
    _check_int(depth, "depth", 1, 4)
    _check_int(batch, "batch", 1, 8)
    _check_int(width, "width", 2, 5)
    check_scalar(seed, "seed", low=0, integer=True)
    if activation not in ACTIVATION_CODE:
        raise ValueError(
            f"The 'activation' parameter must be one of {sorted(ACTIVATION_CODE)}. "
            f"Got {activation!r} instead."
        )
    if output not in OUTPUT_CODE:
        raise ValueError(
            f"The 'output' parameter must be one of {sorted(OUTPUT_CODE)}. Got {output!r} instead."
        )
    lr = float(check_scalar(lr, "lr", low=0.0, low_inclusive=False))
    l2 = float(check_scalar(l2, "l2", low=0.0))
    rng = np.random.default_rng([int(seed), int(depth), int(batch), int(width)])
    n, M = int(batch), int(width)
    W = [rng.integers(-4, 5, size=(M, M)) / 4.0 for _ in range(depth)]  # multiples of 1/4 in [-1, 1]
    b = [rng.integers(-2, 3, size=M) / 4.0 for _ in range(depth)]
    X = rng.integers(-2, 3, size=(n, M)) / 2.0  # multiples of 1/2 in [-1, 1]
    if output == "softmax":
        Y = np.eye(M)[rng.integers(0, M, n)]
    elif output == "sigmoid":
        Y = rng.integers(0, 2, size=(n, M)).astype(np.float64)
    else:
        Y = rng.integers(-2, 3, size=(n, M)) / 2.0
    if activation == "relu" and depth > 1:
        # One pre-activation exactly 0, on a unit whose error signal is not 0: ReLU'(0) matters.
        if not X[0].any():
            X[0, 0] = 0.5
        b[0][0] = -float(X[0] @ W[0][0])
        if not W[1][:, 0].any():
            W[1][0, 0] = 0.5
    return Problem(int(depth), activation, output, int(seed), tuple(W), tuple(b), X, Y, lr, l2)


@dataclass(frozen=True)
class Solution:
    """Every quantity of the exercise: ``a[h-1]`` = a^(h) (n, M_h), ..., ``W_new[h-1]`` after the step."""

    a: tuple[Array, ...]
    z: tuple[Array, ...]
    delta: tuple[Array, ...]
    dW: tuple[Array, ...]
    db: tuple[Array, ...]
    W_new: tuple[Array, ...]
    b_new: tuple[Array, ...]

    def quantities(self) -> dict[str, Array]:
        """The quantities by name, in the order computed: a1, z1, ..., deltaD, ..., delta1, dW1, ..."""
        D = len(self.a)
        out: dict[str, Array] = {}
        for h in range(1, D + 1):
            out[f"a{h}"], out[f"z{h}"] = self.a[h - 1], self.z[h - 1]
        for h in reversed(range(1, D + 1)):
            out[f"delta{h}"] = self.delta[h - 1]
        for h in range(1, D + 1):
            out[f"dW{h}"], out[f"db{h}"] = self.dW[h - 1], self.db[h - 1]
        for h in range(1, D + 1):
            out[f"W{h}_new"], out[f"b{h}_new"] = self.W_new[h - 1], self.b_new[h - 1]
        return out


def _output_jacobian_times(output: str, f: Array, r: Array, diagonal: bool) -> Array:
    """J_out(a^(D))^T r per sample: (diag f - f f^T) r for softmax (or only its diagonal f(1-f) r)."""
    if output == "softmax" and not diagonal:
        return f * (r - np.sum(f * r, axis=1, keepdims=True))
    if output in ("softmax", "sigmoid"):
        return f * (1.0 - f) * r
    return r


def solve(problem: Problem, mistakes: Iterable[str] = ()) -> Solution:
    """The solution of ``problem`` (module docstring), or a student's with the named ``mistakes``.

    ``mistakes`` are keys of :data:`deltaprop.exercises.MISTAKES`; without any this is
    the lecture's backpropagation, equal to :meth:`deltaprop.Network.backward` (tested).
    """
    wrong = frozenset(mistakes)
    act = get_activation(problem.activation)
    out = get_output(problem.output)
    D, n = problem.depth, problem.n
    W, b = problem.W, problem.b
    a: list[Array] = []
    z: list[Array] = [problem.X]  # z^(0) = X
    for h in range(1, D + 1):
        a.append(z[h - 1] @ W[h - 1].T + b[h - 1])  # a^(h) = W^(h) z^(h-1) + b^(h), rows are samples
        z.append(act.f(a[h - 1]) if h < D else out.f(a[h - 1]))
    f = z[D]
    delta: list[Array] = [np.empty(0)] * D
    residual: Array = problem.Y - f if "delta_sign" in wrong else f - problem.Y  # delta^(D) = f - Y
    if "output_jacobian" in wrong or "output_jacobian_diagonal" in wrong:
        residual = _output_jacobian_times(problem.output, f, residual, "output_jacobian_diagonal" in wrong)
    delta[D - 1] = residual
    for h in reversed(range(1, D)):
        # delta^(h) = sigma'(a^(h)) o (W^(h+1))^T delta^(h+1); in rows: delta^(h+1) @ W^(h+1)
        back = delta[h] @ (W[h].T if "W_not_transposed" in wrong else W[h])
        if "sigma_prime_missing" in wrong:
            slope = np.ones_like(a[h - 1])
        elif "sigma_prime_of_z" in wrong:
            slope = act.df(z[h], act.f(z[h]))  # sigma'(z^(h)) instead of sigma'(a^(h))
        else:
            slope = act.df(a[h - 1], z[h])
        if "relu_prime_at_zero" in wrong and problem.activation == "relu":
            slope = (a[h - 1] >= 0).astype(np.float64)  # ReLU'(0) = 1
        delta[h - 1] = slope * back
    scale = 1.0 if "mean_forgotten" in wrong else 1.0 / n
    dW = [scale * (delta[h - 1].T @ z[h - 1]) + problem.l2 * W[h - 1] for h in range(1, D + 1)]
    db = [scale * delta[h - 1].sum(axis=0) for h in range(1, D + 1)]
    if "biases_penalised" in wrong:
        db = [g + problem.l2 * b[h] for h, g in enumerate(db)]
    W_new = [W[h] - problem.lr * dW[h] for h in range(D)]
    b_new = [b[h] - problem.lr * db[h] for h in range(D)]
    return Solution(tuple(a), tuple(z[1:]), tuple(delta), tuple(dW), tuple(db), tuple(W_new), tuple(b_new))
