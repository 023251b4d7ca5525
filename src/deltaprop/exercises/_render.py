"""An exercise as files: the problem and its solution in Markdown and as Jupyter notebooks.

``problem.md`` asks for every quantity by hand, ``solution.md`` gives them (4 decimals);
``problem.ipynb`` asks for a ``backward`` function and tests it, ``solution.ipynb`` is
the same notebook with the solution between nbgrader's ``### BEGIN SOLUTION`` and
``### END SOLUTION`` markers and nbgrader's cell metadata (the given cell and the tests
locked, the solution cell to write, the tests worth one point), and the solution's numbers
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, so that ``nbgrader
generate_assignment`` can take it as the source (the visible test is deltaprop's grader,
which shows no numbers); ``otter.ipynb`` is the same exercise as
an otter-grader master notebook (Otter Assign's v1 format of raw delimiter cells).
``problem.json`` holds the given numbers for ``deltaprop grade``; ``answer.json`` is the
answer's template, every number null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._types import Array
from deltaprop.exercises._problem import ACTIVATION_CODE, LOSS_NAMES, OUTPUT_CODE, Problem, solve

_SIGMA_NAMES = {"identity": "the identity", "sigmoid": "the sigmoid", "tanh": "tanh", "relu": "ReLU"}


def _number(x: float, decimals: int | None) -> str:
    if decimals is None:
        return f"{x:g}"
    text = f"{x:.{decimals}f}"
    return "0" if float(text) == 0 else text  # no "-0.0000"


def _matrix(arr: Array, decimals: int | None = None) -> str:
    """A LaTeX pmatrix of a vector (one row) or a matrix."""
    rows = np.atleast_2d(arr)
    body = r" \\ ".join(" & ".join(_number(float(x), decimals) for x in row) for row in rows)
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


def _given_lines(problem: Problem) -> list[str]:
    D = problem.depth
    lines = []
    for h in range(1, D + 1):
        lines.append(
            f"$$W^{{({h})}} = {_matrix(problem.W[h - 1])}, \\qquad "
            f"b^{{({h})}} = {_matrix(problem.b[h - 1])}^T$$"
        )
    lines.append(f"$$X = {_matrix(problem.X)}, \\qquad Y = {_matrix(problem.Y)}$$")
    return lines


def _setting(problem: Problem) -> str:
    D, n, M = problem.depth, problem.n, problem.width
    hidden = (
        f"{D - 1} hidden layer{'s' if D > 2 else ''} with σ = {_SIGMA_NAMES[problem.activation]}, "
        if D > 1
        else "no hidden layer, "
    )
    samples = "one sample" if n == 1 else f"a batch of n = {n} samples"
    return (
        f"A network of depth D = {D} with M_0 = ... = M_D = {M} units per layer: {hidden}"
        f"the {problem.output} output unit with the {LOSS_NAMES[problem.output]} loss. "
        f"Its parameters and {samples} (one row of X and Y per sample) are given; the loss is "
        f"the mean over the samples plus λ/2 Σ_h ‖W^(h)‖² with λ = {problem.l2:g} (weights only), "
        f"and the learning rate is η = {problem.lr:g}."
    )


def _tasks(problem: Problem) -> list[str]:
    D = problem.depth
    layers = "h = 1" if D == 1 else f"h = 1, ..., {D}"
    if D == 1:
        backward = "δ^(1) = ∂ℓ/∂a^(1) for each sample (per sample, no 1/n)."
    elif D == 2:
        backward = "δ^(2) = ∂ℓ/∂a^(2) for each sample, then δ^(1) (per sample, no 1/n)."
    else:
        backward = (
            f"δ^({D}) = ∂ℓ/∂a^({D}) for each sample, then δ^(h) for h = {D - 1}, ..., 1 (per sample, no 1/n)."
        )
    return [
        f"1. The forward pass: a^(h) = W^(h) z^(h-1) + b^(h) and z^(h) = σ(a^(h)) for {layers}, "
        "with z^(0) = x and z^(D) = f(x) the output unit.",
        f"2. Backpropagation: {backward}",
        "3. The gradients ∂L/∂W^(h) and ∂L/∂b^(h) of the mean loss with the penalty, for every layer.",
        "4. One step of gradient descent: the new W^(h) and b^(h).",
    ]


def _answer_template(problem: Problem) -> str:
    """answer.json to fill in: one quantity per line, every number null."""
    lines = [
        f"  {json.dumps(key)}: {json.dumps(np.full(value.shape, np.nan).tolist()).replace('NaN', 'null')}"
        for key, value in solve(problem).quantities().items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def problem_markdown(problem: Problem) -> str:
    """The exercise to do by hand, in Markdown with LaTeX matrices."""
    keys = ", ".join(solve(problem).quantities())
    return (
        "\n\n".join(
            [
                f"# Backpropagation by hand (D = {problem.depth}, {problem.activation}, seed {problem.seed})",
                _setting(problem),
                *_given_lines(problem),
                "Compute, for every sample (rows as in X):",
                "\n".join(_tasks(problem)),
                "Write the numbers into `answer.json` (its keys: "
                f"{keys}; a^(h), z^(h) and δ^(h) with one row per sample) and check them with "
                "`deltaprop grade . answer.json`.",
            ]
        )
        + "\n"
    )


def solution_markdown(problem: Problem) -> str:
    """The problem with every quantity, to 4 decimals."""
    s = solve(problem)
    D = problem.depth
    parts = [
        f"# Solution: backpropagation by hand (D = {problem.depth}, {problem.activation}, "
        f"seed {problem.seed})",
        _setting(problem),
        *_given_lines(problem),
        "## Forward pass",
    ]
    for h in range(1, D + 1):
        parts.append(
            f"$$a^{{({h})}} = {_matrix(s.a[h - 1], 4)}, \\qquad z^{{({h})}} = {_matrix(s.z[h - 1], 4)}$$"
        )
    parts.append(
        "## Backpropagation\n\nδ^(D) = f(x) − y (the canonical link: no output Jacobian); "
        "δ^(h) = σ'(a^(h)) ∘ (W^(h+1))ᵀ δ^(h+1). One row per sample."
    )
    for h in reversed(range(1, D + 1)):
        parts.append(f"$$\\delta^{{({h})}} = {_matrix(s.delta[h - 1], 4)}$$")
    parts.append(
        "## Gradients\n\n∂L/∂W^(h) = (1/n) Σ_i δ^(h)_i z^(h−1)_iᵀ + λ W^(h), ∂L/∂b^(h) = (1/n) Σ_i δ^(h)_i."
    )
    for h in range(1, D + 1):
        parts.append(
            f"$$\\frac{{\\partial L}}{{\\partial W^{{({h})}}}} = {_matrix(s.dW[h - 1], 4)}, \\qquad "
            f"\\frac{{\\partial L}}{{\\partial b^{{({h})}}}} = {_matrix(s.db[h - 1], 4)}^T$$"
        )
    parts.append(f"## One step of gradient descent, η = {problem.lr:g}")
    for h in range(1, D + 1):
        parts.append(
            f"$$W^{{({h})}} \\leftarrow {_matrix(s.W_new[h - 1], 4)}, \\qquad "
            f"b^{{({h})}} \\leftarrow {_matrix(s.b_new[h - 1], 4)}^T$$"
        )
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------ notebooks
def _array_code(name: str, arr: Array) -> str:
    return f"{name} = np.array({json.dumps(np.asarray(arr).tolist())})"


def _given_code(problem: Problem) -> str:
    sigma, _ = ACTIVATION_CODE[problem.activation]
    lines = [
        "import numpy as np",
        "",
        "# W[h-1] is W^(h), of shape (M_h, M_{h-1}); b[h-1] is b^(h); one sample per row of X and Y.",
        "W = [",
        *(f"    np.array({json.dumps(w.tolist())})," for w in problem.W),
        "]",
        "b = [",
        *(f"    np.array({json.dumps(v.tolist())})," for v in problem.b),
        "]",
        _array_code("X", problem.X),
        _array_code("Y", problem.Y),
        f"l2 = {problem.l2!r}  # lambda",
        f"lr = {problem.lr!r}  # eta",
        f"PROBLEM = {json.dumps(problem.to_dict())}  # the same numbers, for deltaprop's grader",
        "",
        "",
        "def sigma(a):",
        f"    return {sigma}",
        "",
        "",
        "def f_out(a):",
        f"    return {OUTPUT_CODE[problem.output]}",
    ]
    return "\n".join(lines)


def _solution_code(problem: Problem) -> str:
    _, sigma_prime = ACTIVATION_CODE[problem.activation]
    return "\n".join(
        [
            "def sigma_prime(a, z):",
            f"    return {sigma_prime}",
            "",
            "",
            "def backward(W, b, X, Y, l2):",
            "    D, n = len(W), X.shape[0]",
            "    a, z = [], [X]",
            "    for h in range(D):",
            "        a.append(z[-1] @ W[h].T + b[h])",
            "        z.append(sigma(a[-1]) if h < D - 1 else f_out(a[-1]))",
            "    delta = z[-1] - Y  # delta^(D) = f - Y: the canonical link",
            "    dW, db = [None] * D, [None] * D",
            "    for h in reversed(range(D)):",
            "        dW[h] = delta.T @ z[h] / n + l2 * W[h]",
            "        db[h] = delta.sum(axis=0) / n  # biases are not penalised",
            "        if h > 0:",
            "            delta = sigma_prime(a[h - 1], z[h]) * (delta @ W[h])",
            "    return dW, db",
        ]
    )


def _check_code() -> str:
    """The visible test: deltaprop's grader, which names the common mistakes and shows no numbers."""
    return "\n".join(
        [
            "from deltaprop.exercises import Problem, grade_backward",
            "",
            "report = grade_backward(Problem.from_dict(PROBLEM), backward)  # names the common mistakes",
            "print(report)",
            "assert report.passed",
        ]
    )


def _hidden_tests_code(problem: Problem) -> str:
    """The hidden test: the solution's gradients, number by number."""
    s = solve(problem)
    return "\n".join(
        [
            "dW, db = backward([w.copy() for w in W], [v.copy() for v in b], X.copy(), Y.copy(), l2)",
            "expected_dW = [" + ", ".join(f"np.array({json.dumps(g.tolist())})" for g in s.dW) + "]",
            "expected_db = [" + ", ".join(f"np.array({json.dumps(g.tolist())})" for g in s.db) + "]",
            "for h in range(len(W)):",
            "    np.testing.assert_allclose(dW[h], expected_dW[h], rtol=1e-6, atol=1e-9)",
            "    np.testing.assert_allclose(db[h], expected_db[h], rtol=1e-6, atol=1e-9)",
        ]
    )


def _nbformat() -> Any:
    try:
        import nbformat
    except ImportError:
        raise ImportError(
            "The exercise's notebooks need nbformat: pip install 'deltaprop[exercises]'"
        ) from None
    return nbformat


def _nbgrader(
    grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = True
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = 1
    return {"nbgrader": meta}


def notebook(problem: Problem, with_solution: bool) -> Any:
    """The exercise as an nbformat v4 notebook: write ``backward``, then its tests run.

    With ``with_solution`` the ``backward`` cell holds the solution between nbgrader's
    markers (the source notebook); without, nbgrader's ``# YOUR CODE HERE`` placeholder.
    """
    nbformat = _nbformat()
    v4 = nbformat.v4
    statement = "\n\n".join(
        [
            f"# Backpropagation (D = {problem.depth}, {problem.activation}, seed {problem.seed})",
            _setting(problem),
            *_given_lines(problem),
        ]
    )
    task = (
        "Write `sigma_prime(a, z)`, σ' of the hidden layers at a^(h) (z^(h) = σ(a^(h)) is given too), and "
        "`backward(W, b, X, Y, l2)`, which returns `(dW, db)`: two lists with ∂L/∂W^(h) and ∂L/∂b^(h) "
        "for h = 1, ..., D, the gradient of the mean loss plus λ/2 Σ_h ‖W^(h)‖². Explicit NumPy, no autodiff."
    )
    tests = _check_code()
    if with_solution:
        body = "### BEGIN SOLUTION\n" + _solution_code(problem) + "\n### END SOLUTION"
        hidden = _hidden_tests_code(problem)
        tests += "\n\n### BEGIN HIDDEN TESTS\n" + hidden + "\n### END HIDDEN TESTS"
    else:
        body = "def sigma_prime(a, z):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\n" + (
            "def backward(W, b, X, Y, l2):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
        )
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        v4.new_markdown_cell(statement),
        v4.new_code_cell(_given_code(problem), metadata=_nbgrader("given")),
        v4.new_markdown_cell(task),
        v4.new_code_cell(body, metadata=_nbgrader("backward", solution=True, locked=False)),
        v4.new_markdown_cell(
            "The test: deltaprop's grader runs your `backward` on this problem and two more, and names the "
            "common mistakes it recognises."
        ),
        v4.new_code_cell(tests, metadata=_nbgrader("test_backward", grade=True)),
    ]
    return nb


def otter_notebook(problem: Problem) -> Any:
    """The exercise as an otter-grader master notebook (Otter Assign's v1 format).

    One question, ``backward``, worth one point: raw cells delimit the question
    (``# BEGIN QUESTION`` with its YAML name and points), the solution (``# BEGIN
    SOLUTION`` ... ``# END SOLUTION``) and the tests (``# BEGIN TESTS`` ... ``# END
    TESTS``), the layout that ``otter assign otter.ipynb dist`` splits into the
    student's notebook and the autograder.
    """
    nbformat = _nbformat()
    v4 = nbformat.v4
    statement = "\n\n".join(
        [
            f"# Backpropagation (D = {problem.depth}, {problem.activation}, seed {problem.seed})",
            _setting(problem),
            *_given_lines(problem),
        ]
    )
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: backprop\nexport_cell: false"),
        v4.new_markdown_cell(statement),
        v4.new_code_cell(_given_code(problem)),
        v4.new_raw_cell("# BEGIN QUESTION\nname: backward\npoints: 1"),
        v4.new_markdown_cell(
            "Write `sigma_prime(a, z)` and `backward(W, b, X, Y, l2) -> (dW, db)`: the gradient of the mean "
            "loss plus λ/2 Σ_h ‖W^(h)‖², layer by layer, in explicit NumPy."
        ),
        v4.new_raw_cell("# BEGIN SOLUTION"),
        v4.new_code_cell(_solution_code(problem)),
        v4.new_raw_cell("# END SOLUTION"),
        v4.new_raw_cell("# BEGIN TESTS"),
        v4.new_code_cell(_check_code()),
        v4.new_code_cell(
            '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n' + _hidden_tests_code(problem)
        ),
        v4.new_raw_cell("# END TESTS"),
        v4.new_raw_cell("# END QUESTION"),
    ]
    return nb


def write_exercise(problem: Problem, out: str | Path) -> list[Path]:
    """Write problem.md, solution.md, problem.ipynb, solution.ipynb, otter.ipynb, problem.json, answer.json.

    Returns the paths written.  The notebooks need ``nbformat`` (``pip install deltaprop[exercises]``).
    """
    nbformat = _nbformat()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "problem.md": problem_markdown(problem),
        "solution.md": solution_markdown(problem),
        "problem.json": json.dumps(problem.to_dict(), indent=1) + "\n",
        "answer.json": _answer_template(problem),
    }
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    for name, nb in (
        ("problem.ipynb", notebook(problem, False)),
        ("solution.ipynb", notebook(problem, True)),
        ("otter.ipynb", otter_notebook(problem)),
    ):
        nbformat.validate(nb)
        path = folder / name
        nbformat.write(nb, str(path))
        paths.append(path)
    return paths
