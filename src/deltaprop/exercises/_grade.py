"""The autograder: check a student's numbers, or their ``backward``, and name the mistake.

A diagnosis is a model of the student: :func:`deltaprop.exercises.solve` with a mistake
switched on computes what a student who makes that mistake writes down.  A mistake is
named when its answer matches every number the student gave (to the tolerance) while
the correct answer does not; single mistakes are tried first, then pairs.  A mistake
that changes nothing on this problem (ReLU'(0) without a zero pre-activation, the 1/n
with one sample) cannot be seen, and is not named.  A ``backward`` function is graded
on the exercise and on two more problems of the same kind (other seeds, 3 samples), so
that more mistakes show.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deltaprop._types import Array
from deltaprop.exercises._problem import Problem, Solution, make_problem, solve


class Mistake(NamedTuple):
    """A common mistake: its name and what the student did instead of the lecture's equation."""

    name: str
    explanation: str


MISTAKES: dict[str, Mistake] = {
    "W_not_transposed": Mistake(
        "W not transposed",
        "delta^(h) needs (W^(h+1))^T delta^(h+1) (in rows: delta^(h+1) @ W^(h+1)); you used W^(h+1) itself.",
    ),
    "sigma_prime_missing": Mistake(
        "sigma' missing",
        "delta^(h) = sigma'(a^(h)) o (W^(h+1))^T delta^(h+1): the factor sigma'(a^(h)) is missing.",
    ),
    "sigma_prime_of_z": Mistake(
        "sigma' applied to z instead of a",
        "sigma' is evaluated at the pre-activation a^(h), not at the activation z^(h) = sigma(a^(h)).",
    ),
    "delta_sign": Mistake(
        "delta^(D) sign flipped",
        "delta^(D) = f(x) - y, not y - f(x); with the flipped sign the step climbs the loss.",
    ),
    "mean_forgotten": Mistake(
        "the 1/n forgotten",
        "The loss is the mean over the n samples: dL/dW^(h) = (1/n) sum_i delta^(h)_i z^(h-1)_i^T, and "
        "likewise for b^(h).",
    ),
    "biases_penalised": Mistake(
        "biases penalised",
        "The penalty lambda/2 ||w||^2 is on the weights only: dL/db^(h) has no lambda b^(h) term.",
    ),
    "output_jacobian": Mistake(
        "softmax Jacobian used where f - Y suffices",
        "With the canonical link (softmax + cross-entropy, sigmoid + binary cross-entropy) "
        "delta^(D) = f - Y already: the output unit's Jacobian cancels against the loss's derivative.",
    ),
    "output_jacobian_diagonal": Mistake(
        "softmax Jacobian used where f - Y suffices",
        "delta^(D) = f - Y already (the canonical link): multiplying by sigma_out'(a^(D)) = f (1 - f) "
        "counts the output unit's derivative twice.",
    ),
    "relu_prime_at_zero": Mistake(
        "ReLU'(0) != 0",
        "The lecture's ReLU'(a) is 1 for a > 0 and 0 for a <= 0: at a^(h) = 0 exactly it is 0.",
    ),
}


@dataclass
class Report:
    """What :func:`grade` found.

    Attributes
    ----------
    correct, wrong, missing : list of str
        The quantities (a1, z1, delta2, dW1, ..., W1_new, b1_new) right, wrong and not given.
    mistakes : list of str
        Keys of :data:`MISTAKES` that explain every wrong number (empty if none does).
    notes : list of str
        What else the grader saw: a shape that is the transpose of the expected one, an
        error raised by ``backward``, the first wrong quantity when no mistake explains it.
    """

    correct: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when something was given and all of it is right."""
        crashed = any(note.startswith("backward raised") for note in self.notes)
        return bool(self.correct) and not self.wrong and not crashed

    @property
    def names(self) -> list[str]:
        """The names of the diagnosed mistakes, each once."""
        return list(dict.fromkeys(MISTAKES[key].name for key in self.mistakes))

    def __str__(self) -> str:
        lines = [f"correct: {', '.join(self.correct) or '-'}", f"wrong:   {', '.join(self.wrong) or '-'}"]
        if self.missing:
            lines.append(f"not given: {', '.join(self.missing)}")
        if self.passed:
            lines.append("All given quantities are right.")
        for key in self.mistakes:
            lines.append(f"mistake: {MISTAKES[key].name}. {MISTAKES[key].explanation}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


# ------------------------------------------------------------------ comparing numbers
def _close(given: Array, expected: Array, rtol: float, atol: float) -> bool:
    return given.shape == expected.shape and bool(np.allclose(given, expected, rtol=rtol, atol=atol))


def _matches(answers: list[dict[str, Array]], solutions: list[Solution], rtol: float, atol: float) -> bool:
    for answer, solution in zip(answers, solutions, strict=True):
        expected = solution.quantities()
        if not all(_close(value, expected[key], rtol, atol) for key, value in answer.items()):
            return False
    return True


def _diagnose(
    problems: list[Problem], answers: list[dict[str, Array]], rtol: float, atol: float
) -> list[str]:
    """The smallest set of mistakes (one, else two) whose answers match the student's everywhere."""
    keys = list(MISTAKES)
    for size in (1, 2):
        found = []
        for combo in itertools.combinations(keys, size):
            if "output_jacobian" in combo and "output_jacobian_diagonal" in combo:
                continue
            solutions = [solve(problem, combo) for problem in problems]
            if _matches(answers, solutions, rtol, atol):
                found.append(combo)
        if found:
            # Several combinations can give the same numbers: name each mistake that appears in one.
            return list(dict.fromkeys(key for combo in found for key in combo))
    return []


def _check_answer(problem: Problem, answer: Mapping[str, Any]) -> tuple[dict[str, Array], list[str]]:
    """The student's numbers as float arrays under the known keys; unknown keys are named."""
    expected = solve(problem).quantities()
    numbers: dict[str, Array] = {}
    notes: list[str] = []
    for key, value in answer.items():
        if key not in expected:
            notes.append(
                f"'{key}' is not a quantity of this exercise (expected names like {list(expected)[:4]})."
            )
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            notes.append(f"'{key}' is not an array of numbers.")
            continue
        if arr.size and np.isnan(arr).all():
            continue  # the template's nulls: not answered
        want = expected[key].shape
        if arr.shape != want and arr.size == expected[key].size:
            if arr.ndim == 2 and arr.shape[::-1] == want:
                notes.append(f"'{key}' has shape {arr.shape}, the transpose of the expected {want}.")
            elif problem.n == 1 or arr.ndim != 2:
                arr = arr.reshape(want)  # one sample written as a vector, or a column for a row
        numbers[key] = arr
    return numbers, notes


def grade(problem: Problem, answer: Mapping[str, Any], rtol: float = 1e-3, atol: float = 1e-4) -> Report:
    """Check a student's numbers against the solution and name the mistakes that explain them.

    Parameters
    ----------
    problem : Problem
    answer : mapping
        Any of the quantities, by name: ``a1``, ``z1``, ..., ``delta1``, ..., ``dW1``,
        ``db1``, ..., ``W1_new``, ``b1_new``, ... (arrays or nested lists; a^(h), z^(h)
        and delta^(h) of shape (n, M_h), one row per sample; delta per sample, without 1/n).
    rtol, atol : float, default 1e-3 and 1e-4
        A number is right within atol + rtol |expected| (answers rounded to 4 decimals pass).

    Returns
    -------
    Report

    Examples
    --------
    >>> from deltaprop.exercises import make_problem, solve
    >>> problem = make_problem(depth=2, activation="tanh", seed=0, batch=2)
    >>> flipped = solve(problem, ["delta_sign"]).quantities()
    >>> grade(problem, {"dW1": flipped["dW1"], "dW2": flipped["dW2"]}).names
    ['delta^(D) sign flipped']
    """
    numbers, notes = _check_answer(problem, answer)
    return _report([problem], [numbers], notes, rtol, atol)


def _report(
    problems: list[Problem], answers: list[dict[str, Array]], notes: list[str], rtol: float, atol: float
) -> Report:
    report = Report(notes=notes)
    first = solve(problems[0]).quantities()
    wrong_anywhere: set[str] = set()
    for problem, answer in zip(problems, answers, strict=True):
        expected = solve(problem).quantities()
        wrong_anywhere |= {
            key for key, value in answer.items() if not _close(value, expected[key], rtol, atol)
        }
    for key in first:
        if key not in answers[0]:
            report.missing.append(key)
        elif key in wrong_anywhere:
            report.wrong.append(key)
        else:
            report.correct.append(key)
    if not report.correct and not report.wrong:
        report.notes.append(
            "No quantity was given: fill in the numbers of answer.json (nulls are not answers)."
        )
    if report.wrong:
        report.mistakes = _diagnose(problems, answers, rtol, atol)
        if not report.mistakes:
            report.notes.append(
                f"No common mistake explains the numbers; the first wrong quantity is {report.wrong[0]}."
            )
    return report


# ------------------------------------------------------------------ files
def read_answer(path: str | Path) -> dict[str, Any]:
    """A student's numbers from a .json (an object of name -> nested lists) or an .npz file."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a JSON object of quantity name -> numbers.")
        return data
    raise ValueError(
        f"An answer is a .json or .npz file of numbers, or a .py file defining backward; got {path}."
    )


def load_backward(path: str | Path) -> Callable[..., Any]:
    """The ``backward`` function of a student's Python file (the file is run: grade files you trust)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not a Python file that can be imported.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    backward = getattr(module, "backward", None)
    if not callable(backward):
        raise ValueError(f"{path} defines no function 'backward(W, b, X, Y, l2)'.")
    return backward


def _outputs_of(result: Any, D: int) -> dict[str, Any]:
    """``backward``'s result as named quantities: (dW, db) lists, or a dict of names or of lists."""
    if isinstance(result, Mapping):
        named: dict[str, Any] = {}
        for key, value in result.items():
            if (
                key in ("a", "z", "delta", "dW", "db")
                and isinstance(value, (list, tuple))
                and len(value) == D
            ):
                named.update({f"{key}{h}": v for h, v in enumerate(value, start=1)})
            else:
                named[key] = value
        return named
    try:
        dW, db = result
        if len(dW) != D or len(db) != D:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(
            f"backward must return (dW, db), two lists of {D} arrays (one per layer), or a dict of "
            "quantities; "
            f"got {type(result).__name__}."
        ) from None
    return {
        **{f"dW{h}": g for h, g in enumerate(dW, start=1)},
        **{f"db{h}": g for h, g in enumerate(db, start=1)},
    }


def grade_backward(
    problem: Problem, backward: Callable[..., Any], rtol: float = 1e-6, atol: float = 1e-9
) -> Report:
    """Grade a student's ``backward(W, b, X, Y, l2) -> (dW, db)`` on the problem and two more.

    ``W[h-1]`` is W^(h) of shape (M_h, M_{h-1}), ``b[h-1]`` is b^(h), X is (n, M_0) with
    one sample per row, Y is (n, K); it returns the gradients of the mean loss plus
    lambda/2 ||w||^2 as two lists (or a dict with any of the quantities).  It is run on
    copies of the arrays, with the tolerance of exact arithmetic.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.exercises import make_problem
    >>> def backward(W, b, X, Y, l2):  # one layer, softmax: delta^(1) = f - Y
    ...     a = X @ W[0].T + b[0]
    ...     f = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    ...     delta = f - Y
    ...     return [delta.T @ X + l2 * W[0]], [delta.sum(axis=0)]  # the 1/n is missing
    >>> grade_backward(make_problem(depth=1, seed=0, batch=2), backward).names
    ['the 1/n forgotten']
    """
    problems = [problem] + [
        make_problem(
            problem.depth,
            problem.activation,
            problem.seed + k,
            3,
            problem.output,
            problem.width,
            problem.lr,
            problem.l2,
        )
        for k in (1, 2)
    ]
    answers: list[dict[str, Array]] = []
    notes: list[str] = []
    for instance in problems:
        args = (
            [w.copy() for w in instance.W],
            [v.copy() for v in instance.b],
            instance.X.copy(),
            instance.Y.copy(),
        )
        try:
            with np.errstate(all="ignore"):
                result = backward(*args, instance.l2)
            numbers, seen = _check_answer(instance, _outputs_of(result, instance.depth))
        except Exception as error:  # the student's code: any error is reported, not raised
            hint = (
                " (a shape mismatch: is a W transposed where it should not be?)"
                if "shape" in str(error) or ("matmul" in str(error))
                else ""
            )
            return Report(notes=[f"backward raised {type(error).__name__}: {error}{hint}"])
        answers.append(numbers)
        notes += [note for note in seen if note not in notes]
    # Only the quantities the function gave on every instance count.
    common = set.intersection(*(set(answer) for answer in answers))
    answers = [{key: value for key, value in answer.items() if key in common} for answer in answers]
    return _report(problems, answers, notes, rtol, atol)
