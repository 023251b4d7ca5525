import json

import numpy as np
import pytest

from deltaprop import Network
from deltaprop.exercises import (
    MISTAKES,
    Problem,
    grade,
    grade_backward,
    load_backward,
    make_problem,
    notebook,
    read_answer,
    solve,
    write_exercise,
)


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_the_solution_is_the_lectures_backpropagation(activation, output, depth):
    problem = make_problem(depth, activation, seed=3, batch=3, output=output)
    s = solve(problem)
    net = Network.from_weights(problem.W, problem.b, activation=activation, output=output)
    cache = net.forward(problem.X)
    for h in range(depth):
        np.testing.assert_allclose(s.a[h], cache.a[h], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(s.z[h], cache.z[h + 1], rtol=1e-14, atol=1e-15)
    grads = net.backward(cache, problem.Y, l2=problem.l2)
    for h in range(depth):
        np.testing.assert_allclose(s.dW[h], grads.W[h], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.db[h], grads.b[h], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.W_new[h], problem.W[h] - problem.lr * grads.W[h], rtol=1e-12)


def test_problems_are_reproducible_exact_and_plant_a_zero_for_relu():
    one, again = make_problem(2, "relu", seed=4, batch=2), make_problem(2, "relu", seed=4, batch=2)
    assert all(np.array_equal(w, v) for w, v in zip(one.W, again.W, strict=True))
    assert not np.array_equal(make_problem(2, "relu", seed=5).W[0], one.W[0])
    assert all((w * 4 == np.round(w * 4)).all() for w in one.W) and (one.X * 2 == np.round(one.X * 2)).all()
    a1 = solve(one).a[0]
    assert a1[0, 0] == 0.0  # exactly: ReLU'(0) matters here
    assert (solve(one).delta[1][0] @ one.W[1])[0] != 0.0
    back = Problem.from_dict(json.loads(json.dumps(one.to_dict())))
    assert back.to_dict() == one.to_dict()
    with pytest.raises(ValueError, match="'activation' parameter must be one of"):
        make_problem(activation="gelu")
    with pytest.raises(ValueError, match="'depth' parameter must be <= 4"):
        make_problem(depth=7)


# -------------------------------------------------- students' backward functions
def _student(activation, output, bug=None):
    """An independent, student-style backward; ``bug`` plants one of the common mistakes."""
    sigma = {
        "tanh": np.tanh,
        "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
        "relu": lambda a: np.maximum(a, 0),
        "identity": lambda a: a,
    }[activation]

    def sigma_prime(a):
        if activation == "tanh":
            return 1 - np.tanh(a) ** 2
        if activation == "sigmoid":
            return sigma(a) * (1 - sigma(a))
        if activation == "relu":
            return (a >= 0).astype(float) if bug == "relu0" else (a > 0).astype(float)
        return np.ones_like(a)

    def f_out(a):
        if output == "softmax":
            e = np.exp(a)
            return e / e.sum(axis=1, keepdims=True)
        return 1 / (1 + np.exp(-a)) if output == "sigmoid" else a

    def backward(W, b, X, Y, l2):
        D, n = len(W), len(X)
        a, z = [], [X]
        for h in range(D):
            a.append(z[h] @ W[h].T + b[h])
            z.append(sigma(a[h]) if h < D - 1 else f_out(a[h]))
        f = z[D]
        delta = Y - f if bug == "sign" else f - Y
        if bug == "jacobian":  # dl/df times the softmax Jacobian, sample by sample
            delta = np.array([(np.diag(fi) - np.outer(fi, fi)) @ di for fi, di in zip(f, delta, strict=True)])
        if bug == "jacobian_diagonal":
            delta = f * (1 - f) * delta
        dW, db = [None] * D, [None] * D
        for h in reversed(range(D)):
            m = 1.0 if bug == "no_mean" else 1.0 / n
            dW[h] = m * delta.T @ z[h] + l2 * W[h]
            db[h] = m * delta.sum(axis=0) + (l2 * b[h] if bug == "bias_penalty" else 0)
            if h > 0:
                back = delta @ W[h].T if bug == "transpose" else delta @ W[h]
                if bug == "no_sigma_prime":
                    slope = 1.0
                elif bug == "sigma_prime_of_z":
                    slope = sigma_prime(z[h])
                else:
                    slope = sigma_prime(a[h - 1])
                delta = slope * back
        return dW, db

    return backward


PLANTED = [
    ("transpose", "tanh", "softmax", "W_not_transposed"),
    ("no_sigma_prime", "tanh", "identity", "sigma_prime_missing"),
    ("sigma_prime_of_z", "sigmoid", "softmax", "sigma_prime_of_z"),
    ("sigma_prime_of_z", "tanh", "sigmoid", "sigma_prime_of_z"),
    ("sign", "relu", "identity", "delta_sign"),
    ("no_mean", "tanh", "softmax", "mean_forgotten"),
    ("bias_penalty", "sigmoid", "identity", "biases_penalised"),
    ("jacobian", "tanh", "softmax", "output_jacobian"),
    ("jacobian_diagonal", "relu", "softmax", "output_jacobian_diagonal"),
    ("relu0", "relu", "softmax", "relu_prime_at_zero"),
]


@pytest.mark.parametrize(("bug", "activation", "output", "mistake"), PLANTED)
def test_each_planted_bug_in_a_backward_is_named(bug, activation, output, mistake):
    problem = make_problem(2, activation, seed=1, batch=2, output=output)
    report = grade_backward(problem, _student(activation, output, bug))
    assert not report.passed and report.wrong
    assert report.names == [MISTAKES[mistake].name], str(report)
    assert MISTAKES[mistake].name in str(report)


@pytest.mark.parametrize(("bug", "activation", "output", "mistake"), PLANTED)
def test_each_planted_bug_in_the_numbers_is_named(bug, activation, output, mistake, tmp_path):
    # The student's numbers (here the planted backward's, rounded to 4 decimals as by hand) in a JSON file.
    problem = make_problem(3, activation, seed=2, batch=3, output=output)
    dW, db = _student(activation, output, bug)(
        list(problem.W), list(problem.b), problem.X, problem.Y, problem.l2
    )
    answer = {f"dW{h}": np.round(g, 4).tolist() for h, g in enumerate(dW, start=1)}
    answer |= {f"db{h}": np.round(g, 4).tolist() for h, g in enumerate(db, start=1)}
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    report = grade(problem, read_answer(path))
    assert report.names == [MISTAKES[mistake].name], str(report)


def test_a_right_answer_passes_and_two_mistakes_are_both_named(tmp_path):
    problem = make_problem(2, "tanh", seed=0, batch=2)
    right = grade_backward(problem, _student("tanh", "softmax"))
    assert right.passed and not right.mistakes and right.correct == ["dW1", "db1", "dW2", "db2"]
    numbers = {key: np.round(value, 4) for key, value in solve(problem).quantities().items()}
    np.savez(tmp_path / "answer.npz", **numbers)
    report = grade(problem, read_answer(tmp_path / "answer.npz"))
    assert report.passed and not report.missing and "All given quantities are right." in str(report)
    both = solve(problem, ["delta_sign", "biases_penalised"]).quantities()
    report = grade(problem, {"db1": both["db1"], "db2": both["db2"], "delta1": both["delta1"]})
    assert sorted(report.names) == sorted([MISTAKES["delta_sign"].name, MISTAKES["biases_penalised"].name])
    assert report.correct == [] and "a1" in report.missing


def test_the_grader_says_what_else_it_sees(tmp_path):
    problem = make_problem(2, "tanh", seed=0, batch=2)
    s = solve(problem)
    noise = s.dW[0] + 0.3
    report = grade(problem, {"dW1": noise, "a1": s.a[0].T, "dW9": [1.0]})
    assert report.wrong == ["a1", "dW1"] and not report.mistakes
    assert any("transpose of the expected" in note for note in report.notes)
    assert any("'dW9' is not a quantity" in note for note in report.notes)
    assert any("first wrong quantity is a1" in note for note in report.notes)
    # a template's nulls are not answers
    report = grade(problem, {"dW1": s.dW[0].tolist(), "dW2": [[None] * 3] * 3})
    assert report.correct == ["dW1"] and "dW2" in report.missing

    def crashing(W, b, X, Y, l2):
        return [X @ W[0]], None

    report = grade_backward(problem, crashing)
    assert not report.passed and report.notes[0].startswith("backward raised")
    source = tmp_path / "student.py"
    source.write_text(
        "import numpy as np\n\ndef backward(W, b, X, Y, l2):\n    return [0 * w for w in W], b\n"
    )
    report = grade_backward(problem, load_backward(source))
    assert report.wrong == ["dW1", "db1", "dW2", "db2"]
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match="defines no function 'backward"):
        load_backward(tmp_path / "empty.py")


# ------------------------------------------------------------------ files
def test_write_exercise_writes_markdown_notebooks_and_the_problem(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the notebooks need nbformat: deltaprop[exercises]")

    problem = make_problem(2, "relu", seed=7, batch=2)
    paths = write_exercise(problem, tmp_path / "ex")
    names = sorted(p.name for p in paths)
    assert names == [
        "answer.json",
        "otter.ipynb",
        "problem.ipynb",
        "problem.json",
        "problem.md",
        "solution.ipynb",
        "solution.md",
    ]
    text = (tmp_path / "ex" / "problem.md").read_text()
    assert "W^{(1)} = \\begin{pmatrix}" in text and "deltaprop grade" in text
    solution = (tmp_path / "ex" / "solution.md").read_text()
    assert f"{solve(problem).dW[0][0, 0]:.4f}".replace("-0.0000", "0") in solution
    assert Problem.from_dict(json.loads((tmp_path / "ex" / "problem.json").read_text())).W[1].tolist() == (
        problem.W[1].tolist()
    )
    template = json.loads((tmp_path / "ex" / "answer.json").read_text())
    assert template["dW1"] == [[None] * 3] * 3
    empty = grade(problem, template)
    assert not empty.correct and not empty.passed and "No quantity was given" in str(empty)
    # the source notebook (nbgrader): its code runs and its tests pass; the student's raises
    source = nbformat.read(str(tmp_path / "ex" / "solution.ipynb"), as_version=4)
    nbformat.validate(source)
    cells = [cell for cell in source.cells if cell.cell_type == "code"]
    assert [cell.metadata["nbgrader"]["grade_id"] for cell in cells] == ["given", "backward", "test_backward"]
    assert cells[2].metadata["nbgrader"]["points"] == 1 and cells[1].metadata["nbgrader"]["solution"]
    assert "### BEGIN SOLUTION" in cells[1].source
    scope: dict = {}
    for cell in cells:
        exec(cell.source, scope)
    student = nbformat.read(str(tmp_path / "ex" / "problem.ipynb"), as_version=4)
    code = [cell.source for cell in student.cells if cell.cell_type == "code"]
    assert "BEGIN SOLUTION" not in code[1] and "raise NotImplementedError()" in code[1]
    scope = {}
    exec(code[0], scope)
    exec(code[1], scope)
    assert "expected_dW" not in code[2]  # the student sees no numbers of the solution
    with pytest.raises(AssertionError):
        exec(code[2], scope)  # the grader reports backward's NotImplementedError, and the test fails
    assert "### BEGIN HIDDEN TESTS" in cells[2].source and "expected_dW" in cells[2].source
    # the notebook's own solution is a backward the grader accepts
    assert grade_backward(problem, _exec_backward(cells)).passed
    assert notebook(problem, with_solution=False).nbformat == 4
    # the otter-grader master notebook: raw delimiters around the question, its solution and its tests
    otter = nbformat.read(str(tmp_path / "ex" / "otter.ipynb"), as_version=4)
    raw = [cell.source.splitlines()[0] for cell in otter.cells if cell.cell_type == "raw"]
    assert raw == [
        "# ASSIGNMENT CONFIG",
        "# BEGIN QUESTION",
        "# BEGIN SOLUTION",
        "# END SOLUTION",
        "# BEGIN TESTS",
        "# END TESTS",
        "# END QUESTION",
    ]
    scope = {}
    for cell in otter.cells:
        if cell.cell_type == "code":
            exec(cell.source, scope)  # given, solution, tests: the tests pass on the solution


def _exec_backward(cells):
    scope: dict = {}
    exec(cells[0].source, scope)
    exec(cells[1].source, scope)
    return scope["backward"]


def test_the_mistakes_figure_shows_what_each_mistake_changes():
    from deltaprop.plots import plot_mistakes

    problem = make_problem(3, "relu", seed=0, batch=2)
    fig = plot_mistakes(problem)
    image = fig.axes[0].get_images()[0].get_array()
    rows = {key: i for i, key in enumerate(MISTAKES)}
    columns = list(solve(problem).quantities())
    assert image.shape == (len(MISTAKES), len(columns))
    # ReLU: sigma'(z) = sigma'(a) since z = max(a, 0) has the same sign pattern: invisible, so never named
    assert np.isnan(np.ma.filled(image[rows["sigma_prime_of_z"]], np.nan)).all()
    # the forward pass is never changed; a flipped delta^(D) changes every delta and gradient
    forward = [j for j, name in enumerate(columns) if name[0] in "az"]
    assert np.isnan(np.ma.filled(image[:, forward], np.nan)).all()
    assert np.isfinite(np.ma.filled(image[rows["delta_sign"], len(forward) :], np.nan)).all()
    with pytest.raises(TypeError, match=r"deltaprop\.exercises\.Problem"):
        plot_mistakes({"depth": 2})
