"""deltaprop lab ..., deltaprop exercise backprop and deltaprop grade, through typer's CliRunner."""

import json

import numpy as np
import pytest

from deltaprop.exercises import Problem, solve

PNG = b"\x89PNG"


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def test_lab_sharpness_prints_the_top_eigenvalues(cli):
    out = _ok(cli("lab", "sharpness", "--hidden", "4", "--steps", "20", "--k", "2")).stdout
    assert "top eigenvalues:" in out and "2/lambda_max" in out and "inputs standardised" in out
    out = _ok(cli("lab", "sharpness", "--data", "digits", "--samples", "50", "--inputs", "centre")).stdout
    assert "digits (n = 50, inputs centred)" in out


def test_lab_edge_of_stability_and_range_test_write_their_figures(cli, tmp_path):
    eos = tmp_path / "eos.png"
    out = _ok(
        cli(
            "lab",
            "edge-of-stability",
            "--hidden",
            "8",
            "--lrs",
            "0.5,0.1",
            "--steps",
            "40",
            "--every",
            "20",
            "--out",
            eos,
        )
    ).stdout
    assert "median ratio after" in out and eos.read_bytes()[:4] == PNG
    rt = tmp_path / "rt.png"
    out = _ok(
        cli("lab", "range-test", "--data", "iris", "--hidden", "8", "--epochs", "3", "--out", rt)
    ).stdout
    assert "suggested range (Smith)" in out and rt.read_bytes()[:4] == PNG


@pytest.mark.parametrize("kind", ["slices", "surface", "interpolation", "trajectory"])
def test_lab_landscape_kinds(cli, kind, tmp_path):
    path = tmp_path / f"{kind}.png"
    args = ["lab", "landscape", kind, "--data", "xor", "--hidden", "6", "--steps", "30", "--points", "5"]
    out = _ok(cli(*args, "--out", path)).stdout
    assert path.read_bytes()[:4] == PNG
    assert {
        "slices": "direction 3",
        "surface": "loss on the plane",
        "interpolation": "halfway",
        "trajectory": "principal directions",
    }[kind] in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lab", "landscape", "contour"], "Unknown landscape 'contour'"),
        (["lab", "sharpness", "--data", "nope"], "--data: unknown data set 'nope'"),
        (["lab", "sharpness", "--inputs", "raw"], "--inputs must be standardise or centre"),
        (["lab", "edge-of-stability", "--lrs", "fast"], "--lrs must be numbers"),
        (["lab", "range-test", "--mode", "cosine"], "'mode' parameter must be one of"),
        (["lab", "sharpness", "--data", "diabetes", "--output", "softmax"], "use --output identity"),
        (["exercise", "backprop", "--activation", "gelu"], "'activation' parameter must be one of"),
        (["lab", "sharpness", "--lr", "nan"], "--lr must be a finite number"),
        (["lab", "landscape", "--points", "100000"], "--points must be"),
        (["lab", "edge-of-stability", "--lrs", "0.1,inf"], "--lrs must list positive numbers"),
        (["lab", "range-test", "--batch-size", "0"], "--batch-size must be"),
        (["lab", "edge-of-stability", "--out", "figure.pdf"], "--out must name a .png file"),
    ],
)
def test_lab_and_exercise_name_a_bad_option(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_lab_figures_and_exercises_are_checked_before_any_work(cli, tmp_path, monkeypatch):
    """cli/_preflight: a folder where the figure goes, or a file where the exercise's folder
    goes, is refused before the training starts."""
    import deltaprop.lab

    def never(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(deltaprop.lab, "edge_of_stability", never)
    folder = tmp_path / "figure.png"
    folder.mkdir()
    result = cli("lab", "edge-of-stability", "--out", folder)
    assert result.exit_code == 1 and "--out" in result.stderr and "Traceback" not in result.stderr
    afile = tmp_path / "exercise"
    afile.write_text("notes")
    result = cli("exercise", "backprop", "--out", afile)
    assert result.exit_code == 1 and "--out" in result.stderr
    assert afile.read_text() == "notes"


def test_exercise_then_grade_numbers_and_a_backward(cli, tmp_path):
    pytest.importorskip("nbformat", reason="the notebooks need nbformat: deltaprop[exercises]")
    folder = tmp_path / "ex"
    out = _ok(
        cli(
            "exercise",
            "backprop",
            "--depth",
            "2",
            "--activation",
            "sigmoid",
            "--seed",
            "3",
            "--batch",
            "2",
            "--out",
            folder,
        )
    ).stdout
    assert "problem.ipynb" in out and (folder / "solution.md").is_file()
    problem = Problem.from_dict(json.loads((folder / "problem.json").read_text()))
    right = {key: np.round(value, 4).tolist() for key, value in solve(problem).quantities().items()}
    (folder / "right.json").write_text(json.dumps(right))
    assert "All given quantities are right." in _ok(cli("grade", folder, folder / "right.json")).stdout
    wrong = {key: value.tolist() for key, value in solve(problem, ["mean_forgotten"]).quantities().items()}
    (folder / "wrong.json").write_text(json.dumps(wrong))
    result = cli("grade", folder, folder / "wrong.json")
    assert result.exit_code == 1 and "mistake: the 1/n forgotten" in result.stdout
    student = folder / "student.py"
    student.write_text(
        "import numpy as np\n\n"
        "def backward(W, b, X, Y, l2):\n"
        "    z1 = 1 / (1 + np.exp(-(X @ W[0].T + b[0])))\n"
        "    a2 = z1 @ W[1].T + b[1]\n"
        "    f = np.exp(a2) / np.exp(a2).sum(axis=1, keepdims=True)\n"
        "    d2 = f - Y\n"
        "    d1 = z1 * (1 - z1) * (d2 @ W[1].T)\n"  # W transposed twice
        "    n = len(X)\n"
        "    return [d1.T @ X / n + l2 * W[0], d2.T @ z1 / n + l2 * W[1]], [d1.mean(0), d2.mean(0)]\n"
    )
    result = cli("grade", folder, student)
    assert result.exit_code == 1 and "mistake: W not transposed" in result.stdout
    result = cli("grade", tmp_path / "nowhere", student)
    assert result.exit_code == 1 and "No problem file" in result.stderr
