"""The command line, in-process (typer's CliRunner) and as a subprocess (python -m deltaprop)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from deltaprop.checkpoint import load_checkpoint
from deltaprop.cli._data import load_model
from deltaprop.cli._demo import DEMO_FIGURES
from deltaprop.cli._errors import UserError
from deltaprop.explain import trace
from deltaprop.modelfile import _format as modelfile
from deltaprop.modelfile import save
from deltaprop.network import Network

PNG = b"\x89PNG"


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def _animals(n=150, seed=0):
    """Three species told apart by height and weight; colour is noise."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["cat", "dog", "fox"], n)
    centre = {"cat": (0.0, 0.0), "dog": (3.0, 0.0), "fox": (0.0, 3.0)}
    xy = np.array([centre[s] for s in species]) + rng.normal(0.0, 0.5, (n, 2))
    return pd.DataFrame(
        {
            "height": 30.0 + 10.0 * xy[:, 0],
            "weight": 5.0 + xy[:, 1],
            "colour": rng.choice(["black", "brown", "white"], n),
            "species": species,
        }
    )


def _prices(n=200, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "price": 100.0 + 20.0 * a - 10.0 * b + rng.normal(0.0, 1.0, n)})


def _write(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def files(cli, tmp_path_factory):
    """Data files and trained models shared by the tests that only read them."""
    d = tmp_path_factory.mktemp("cli")
    _write(_animals(), d / "animals.csv")
    _write(_prices(), d / "prices.csv")
    _ok(cli("train", d / "animals.csv", "-t", "species", "-o", d / "animals.npz", "--epochs", 60, "-q"))
    _ok(cli("train", d / "prices.csv", "-t", "price", "-o", d / "prices.npz", "--epochs", 150, "-q"))
    _ok(cli("datasets", "moons", "--out", d / "moons.csv"))
    _ok(
        cli(
            "train",
            d / "moons.csv",
            "-t",
            "y",
            "-o",
            d / "moons.npz",
            "--hidden",
            "6,4",
            "--epochs",
            30,
            "-q",
        )
    )
    return d


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_train_predict_evaluate_round_trip(cli, tmp_path, suffix):
    data = _write(_animals(), tmp_path / f"animals{suffix}")
    model = tmp_path / "animals.npz"
    result = _ok(cli("train", data, "--target", "species", "--out", model, "--epochs", 60, "--quiet"))
    assert "Task: classification" in result.stdout
    assert "Classes: cat, dog, fox." in result.stdout

    out = tmp_path / f"predictions{suffix}"
    _ok(cli("predict", model, data, "--proba", "--out", out))
    predictions = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(predictions.columns) == ["predicted_species", "proba_cat", "proba_dog", "proba_fox"]
    np.testing.assert_allclose(predictions.filter(like="proba_").sum(axis=1), 1.0)
    accuracy = float((predictions["predicted_species"] == _animals()["species"]).mean())
    assert accuracy > 0.9

    report = tmp_path / "metrics.json"
    result = _ok(cli("evaluate", model, data, "--json", report))
    assert "accuracy" in result.stdout and "Per class" in result.stdout
    metrics = json.loads(report.read_text())
    assert metrics["accuracy"] == pytest.approx(accuracy)
    assert [row["class"] for row in metrics["per_class"]] == ["cat", "dog", "fox"]
    assert sum(row["support"] for row in metrics["per_class"]) == 150
    assert np.trace(metrics["confusion_matrix"]) == round(accuracy * 150)


def test_regression_round_trip_in_the_targets_units(cli, tmp_path, files):
    result = _ok(cli("evaluate", files / "prices.npz", files / "prices.csv", "--json", tmp_path / "m.json"))
    assert "R^2" in result.stdout
    assert json.loads(result_json := (tmp_path / "m.json").read_text())["r2"] > 0.95, result_json
    _ok(cli("predict", files / "prices.npz", files / "prices.csv", "--out", tmp_path / "p.csv"))
    predicted = pd.read_csv(tmp_path / "p.csv")["predicted_price"]
    assert np.mean(np.abs(predicted - _prices()["price"])) < 5.0  # the target's spread is ~22


def test_predict_without_out_writes_csv_to_standard_output(cli, files):
    result = _ok(cli("predict", files / "animals.npz", files / "animals.csv", "--keep-input"))
    frame = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(frame.columns) == ["height", "weight", "colour", "species", "predicted_species"]
    assert len(frame) == 150


def test_preprocessing_is_reapplied_by_column_name(cli, tmp_path, files):
    _ok(cli("predict", files / "animals.npz", files / "animals.csv", "--proba", "--out", tmp_path / "a.csv"))
    shuffled = _animals()[["colour", "weight", "height"]].assign(notes="extra column")
    _write(shuffled, tmp_path / "shuffled.csv")
    _ok(
        cli(
            "predict",
            files / "animals.npz",
            tmp_path / "shuffled.csv",
            "--proba",
            "--out",
            tmp_path / "b.csv",
        )
    )
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_a_missing_column_at_predict_time_is_named(cli, tmp_path, files):
    _write(_animals().drop(columns="weight"), tmp_path / "less.csv")
    result = cli("predict", files / "animals.npz", tmp_path / "less.csv")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: The data lacks the column(s) ['weight'] that the model was trained on; its columns are "
        "['height', 'colour', 'species']."
    ]


def test_an_unseen_category_warns_and_predicts(cli, tmp_path, files):
    _write(_animals(n=5).assign(colour="purple"), tmp_path / "new.csv")
    result = _ok(cli("predict", files / "animals.npz", tmp_path / "new.csv", "--out", tmp_path / "p.csv"))
    assert result.stderr.startswith(
        "Warning: The column 'colour' has 5 value(s) not seen at training ['purple']"
    )
    assert len(pd.read_csv(tmp_path / "p.csv")) == 5


def test_the_model_file_stores_preprocessing_history_and_options(files):
    model = load_model(files / "animals.npz")
    assert model.preprocessor.columns == ["height", "weight", "colour"]
    assert model.preprocessor.classes == ["cat", "dog", "fox"]
    assert model.history.epochs == 60 and len(model.history.val_loss) == 60
    assert model.training["solver"] == "adam" and model.training["sizes"] == [5, 32, 3]


# ------------------------------------------------------------ train options
def test_progress_bar_task_detection_and_overrides(cli, tmp_path, files):
    result = _ok(cli("train", files / "prices.csv", "-t", "price", "-o", tmp_path / "m.npz", "--epochs", 5))
    assert "Task: regression, since the target 'price' holds real numbers" in result.stdout
    assert "epoch 5/5" in result.stdout and "val_loss" in result.stdout
    frame = _prices().assign(grade=np.arange(200) % 3)
    _write(frame, tmp_path / "grades.csv")
    result = _ok(
        cli("train", tmp_path / "grades.csv", "-t", "grade", "-o", tmp_path / "g.npz", "--epochs", 2, "-q")
    )
    assert "Task: classification, since the target 'grade' holds 3 distinct integers" in result.stdout
    args = ("train", tmp_path / "grades.csv", "-t", "grade", "-o", tmp_path / "g.npz", "--epochs", 2, "-q")
    result = _ok(cli(*args, "--task", "regression"))
    assert "Task: regression (as given)" in result.stdout
    assert load_model(tmp_path / "g.npz").network.sizes[-1] == 1


def test_alpha_is_scikit_learns_scaling_of_lambda(cli, tmp_path, files):
    common = ("train", files / "animals.csv", "-t", "species", "--epochs", 2, "-q", "--batch-size", 10)
    _ok(cli(*common, "-o", tmp_path / "a.npz", "--alpha", 0.5))
    assert load_model(tmp_path / "a.npz").training["l2_used"] == pytest.approx(0.05)
    _ok(cli(*common, "-o", tmp_path / "l.npz", "--l2", 0.5))
    assert load_model(tmp_path / "l.npz").training["l2_used"] == 0.5


def test_network_options_reach_the_network(cli, tmp_path, files):
    args = ("train", files / "animals.csv", "-t", "species", "-o", tmp_path / "m.npz", "--epochs", 3, "-q")
    _ok(cli(*args, "--hidden", "5,4", "--activation", "tanh,sigmoid", "--dtype", "float32", "--solver", "gd"))
    net = load_model(tmp_path / "m.npz").network
    assert net.sizes == [5, 5, 4, 3]
    assert [a.name for a in net.activations] == ["tanh", "sigmoid"]
    assert net.dtype == np.float32
    _ok(cli(*args, "--hidden", "none"))
    assert load_model(tmp_path / "m.npz").network.sizes == [5, 3]


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "step", "cosine", "plateau"])
def test_every_schedule_trains(cli, tmp_path, files, schedule):
    args = ("train", files / "prices.csv", "-t", "price", "-o", tmp_path / "m.npz", "--epochs", 12, "-q")
    _ok(cli(*args, "--schedule", schedule, "--early-stopping", "--patience", 3))
    history = load_model(tmp_path / "m.npz").history
    assert history.loss[-1] < history.loss[0]


def test_sigmoid_output_for_two_classes(cli, tmp_path, files):
    args = ("train", files / "moons.csv", "-t", "y", "-o", tmp_path / "m.npz", "--epochs", 20, "-q")
    _ok(cli(*args, "--output", "sigmoid"))
    assert load_model(tmp_path / "m.npz").network.sizes[-1] == 1
    _ok(cli("predict", tmp_path / "m.npz", files / "moons.csv", "--proba", "--out", tmp_path / "p.csv"))
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == ["predicted_y", "proba_0", "proba_1"]


def test_missing_values_impute_at_train_and_predict_time(cli, tmp_path):
    frame = _animals()
    frame.loc[[1, 2], "height"] = np.nan
    frame.loc[3, "colour"] = np.nan
    _write(frame, tmp_path / "gaps.csv")
    args = ("train", tmp_path / "gaps.csv", "-t", "species", "-o", tmp_path / "m.npz", "--epochs", 5, "-q")
    result = cli(*args)
    assert (
        result.exit_code == 1
        and "Missing values in the column(s) 'height' (2), 'colour' (1)" in result.stderr
    )
    _ok(cli(*args, "--missing", "impute"))
    assert set(load_model(tmp_path / "m.npz").preprocessor.fill) == {"height", "weight", "colour"}
    _ok(cli("predict", tmp_path / "m.npz", tmp_path / "gaps.csv", "--out", tmp_path / "p.csv"))
    assert pd.read_csv(tmp_path / "p.csv")["predicted_species"].notna().all()


def test_checkpoint_and_report(cli, tmp_path, files):
    args = ("train", files / "moons.csv", "-t", "y", "-o", tmp_path / "m.npz", "--epochs", 4, "-q")
    result = _ok(cli(*args, "--checkpoint", tmp_path / "ck.npz", "--report", tmp_path / "report"))
    assert load_checkpoint(tmp_path / "ck.npz").history.epochs == 4
    page = (tmp_path / "report" / "report.html").read_text()
    for name in ("loss-curves", "gradient-norms", "confusion-matrix", "decision-regions", "network"):
        assert f'id="fig-{name}"' in page
    assert "Report:" in result.stdout


def test_resume_from_checkpoint_equals_uninterrupted(cli, tmp_path, files):
    args = ("train", files / "moons.csv", "-t", "y", "--batch-size", 16, "--seed", 3, "-q")
    _ok(cli(*args, "-o", tmp_path / "straight.npz", "--epochs", 6))
    _ok(cli(*args, "-o", tmp_path / "half.npz", "--epochs", 3, "--checkpoint", tmp_path / "ck.npz"))
    result = _ok(cli(*args, "-o", tmp_path / "resumed.npz", "--epochs", 6, "--resume", tmp_path / "ck.npz"))
    assert "Resuming" in result.stdout and "3 to go" in result.stdout
    straight, resumed = load_model(tmp_path / "straight.npz"), load_model(tmp_path / "resumed.npz")
    assert resumed.history.epochs == 6
    for p, q in zip(
        straight.network.W + straight.network.b, resumed.network.W + resumed.network.b, strict=True
    ):
        np.testing.assert_array_equal(p, q)
    other = cli(*args, "-o", tmp_path / "x.npz", "--hidden", "5", "--resume", tmp_path / "ck.npz")
    assert other.exit_code == 1
    assert "resume with the options of the interrupted run" in other.stderr


def test_train_gives_fit_a_trainer_and_no_learning_rate(cli, tmp_path, files, monkeypatch):
    from deltaprop.cli import _train
    from deltaprop.train import Trainer

    calls, real_fit = [], _train.fit

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(_train, "fit", spy)
    args = ("train", files / "moons.csv", "-t", "y", "-q", "--lr", 0.05, "--l2", 0.001)
    _ok(cli(*args, "-o", tmp_path / "a.npz", "--epochs", 2, "--checkpoint", tmp_path / "ck.npz"))
    _ok(cli(*args, "-o", tmp_path / "b.npz", "--epochs", 4, "--resume", tmp_path / "ck.npz"))
    fresh, resumed = calls
    for kwargs in calls:
        assert isinstance(kwargs["optimizer"], Trainer)
        assert "learning_rate" not in kwargs and "l2" not in kwargs
    assert fresh["optimizer"].learning_rate == 0.05 and fresh["optimizer"].l2 == 0.001
    assert resumed["optimizer"].steps > 0 and resumed["epochs"] == 2


# ------------------------------------------------------------ user errors
def _broken_files(cli, d):
    _write(_animals(), d / "data.csv")
    (d / "garbage.parquet").write_bytes(b"this is not parquet")
    (d / "empty.csv").write_text("")
    _write(_animals(), d / "data.txt")
    frame = _animals().astype({"height": object})
    frame.loc[4, "height"] = "tall"
    _write(frame, d / "text.csv")
    _write(_animals().assign(species="wolf"), d / "wolves.csv")
    _ok(cli("train", d / "data.csv", "-t", "species", "-o", d / "model.npz", "--epochs", 2, "-q"))
    save(Network([3, 2], random_state=0), d / "plain.npz")
    _ok(cli("train", d / "data.csv", "-t", "height", "-o", d / "regression.npz", "--epochs", 2, "-q"))


@pytest.fixture(scope="module")
def broken(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("broken")
    _broken_files(cli, d)
    mp = pytest.MonkeyPatch()
    mp.setattr(modelfile, "FORMAT_VERSION", 2)
    try:
        save(Network([3, 2], random_state=0), d / "future.npz")
    finally:
        mp.undo()
    return d


TRAIN = ("train", "{d}/data.csv", "-t", "species", "-o", "{d}/out.npz", "-q", "--epochs", "2")
USER_ERRORS = [
    (("train", "{d}/nope.csv", "-t", "species", "-o", "{d}/m.npz"), "No such file: '{d}/nope.csv'."),
    (("train", "{d}/data.csv", "-t", "nope", "-o", "{d}/m.npz"), "The target column 'nope' is not in"),
    (("train", "{d}/garbage.parquet", "-t", "species", "-o", "{d}/m.npz"), "as Parquet:"),
    (("train", "{d}/empty.csv", "-t", "species", "-o", "{d}/m.npz"), "is empty"),
    (("train", "{d}/data.txt", "-t", "species", "-o", "{d}/m.npz"), "Cannot tell the format"),
    ((*TRAIN, "--task", "regression"), "The target 'species' is not numeric"),
    ((*TRAIN, "--hidden", "8,x"), "--hidden must be comma-separated positive integers"),
    ((*TRAIN, "--activation", "swish"), "--activation 'swish' is unknown"),
    ((*TRAIN, "--activation", "relu,tanh"), "lists 2 activations for 1 hidden layers"),
    ((*TRAIN, "--l2", "0.1", "--alpha", "0.1"), "Give either --l2"),
    ((*TRAIN, "--lr=-1"), "--lr must be a positive number"),
    ((*TRAIN, "--l2=-1"), "--l2 must be a non-negative number"),
    ((*TRAIN, "--validation", "1.5"), "--validation must be in [0, 1); got 1.5"),
    ((*TRAIN, "--batch-size", "zero"), "--batch-size must be"),
    ((*TRAIN, "--epochs", "0"), "--epochs must be in [1, "),
    ((*TRAIN, "--output", "identity"), "--output identity is for regression"),
    ((*TRAIN, "--output", "sigmoid"), "needs two classes"),
    ((*TRAIN, "--drop", "nope"), "--drop names ['nope']"),
    ((*TRAIN, "--solver", "gd", "--lr", "1e6", "--epochs", "100"), "training diverged"),
    (("predict", "{d}/future.npz", "{d}/data.csv"), "with format version 2; this deltaprop reads version 1"),
    (("predict", "{d}/data.csv", "{d}/data.csv"), "is not a NumPy .npz (zip) archive"),
    (("predict", "{d}/nope.npz", "{d}/data.csv"), "No such model file"),
    (("predict", "{d}/plain.npz", "{d}/data.csv"), "no preprocessing"),
    (("predict", "{d}/model.npz", "{d}/text.csv"), "'height' was numeric at training but holds 'tall'"),
    (("predict", "{d}/regression.npz", "{d}/data.csv", "--proba"), "--proba is for classification"),
    (("predict", "{d}/model.npz", "{d}/data.csv", "--out", "{d}/p.json"), "Cannot tell the format"),
    (("evaluate", "{d}/model.npz", "{d}/data.csv", "-t", "nope"), "The target column 'nope' is not in"),
    (("evaluate", "{d}/model.npz", "{d}/wolves.csv"), "label(s) ['wolf'] that the model never saw"),
    (("gradcheck", "--tol", "1e-30"), "above --tol"),
    (("gradcheck", "--sizes", "4"), "at least two layer widths"),
    (("explain", "--data", "{d}/data.csv"), "--data needs --model"),
    (("explain", "--model", "{d}/model.npz", "--data", "{d}/data.csv", "--row", "999"), "--row must be"),
    (("plot", "loss"), "plot loss needs --model"),
    (("plot", "loss", "--model", "{d}/plain.npz", "--out", "{d}/x.png"), "holds no training history"),
    (("plot", "confusion-matrix", "--model", "{d}/model.npz"), "needs --data"),
    (("plot", "network", "--model", "{d}/model.npz", "--out", "{d}/x.pdf"), "--out must name a .png file"),
    (
        ("plot", "decision-regions", "--model", "{d}/model.npz", "--data", "{d}/data.csv"),
        "two numeric columns",
    ),
    (("plot", "neuron-maps", "--model", "{d}/model.npz"), "needs a network with 2 inputs"),
    (
        ("plot", "predicted-vs-true", "--model", "{d}/model.npz", "--data", "{d}/data.csv"),
        "is for regression",
    ),
    (("datasets", "mnist"), "Unknown data set 'mnist'"),
    ((*TRAIN, "--seed", "-1"), "--seed must be a non-negative integer; got -1."),
    (("gradcheck", "--l2=-1"), "--l2 must be a non-negative number; got -1"),
    (("explain", "--lr=-1"), "--lr must be a positive number; got -1"),
    (
        ("plot", "activations", "--activations", "swish", "--out", "{d}/a.png"),
        "--activations 'swish' is unknown",
    ),
    (
        ("predict", "{d}/model.npz", "{d}/data.csv", "--out", "{d}/data.csv/p.csv"),
        "'{d}/data.csv' is a file, so it cannot hold a folder",
    ),
]


@pytest.mark.parametrize(("args", "message"), USER_ERRORS, ids=[m[:40] for _, m in USER_ERRORS])
def test_user_errors_are_one_line_and_exit_1(cli, broken, args, message):
    result = cli(*(a.format(d=broken) for a in args))
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message.format(d=broken) in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_usage_errors_exit_2(cli, broken):
    assert (
        cli(
            "train", broken / "data.csv", "-t", "species", "-o", broken / "m.npz", "--solver", "foo"
        ).exit_code
        == 2
    )
    assert cli("train", broken / "data.csv").exit_code == 2
    assert cli("plot", "histogram").exit_code == 2


def test_debug_shows_the_exception(cli, broken):
    result = cli("--debug", "train", broken / "nope.csv", "-t", "species", "-o", broken / "m.npz")
    assert isinstance(result.exception, UserError)


def _raise(error):
    def planted(*args, **kwargs):
        raise error

    return planted


# A bug planted in a library function that each command calls, where no user input is checked.
PLANTED_BUGS = [
    ("deltaprop.cli._train.fit", ValueError("boom"), (*TRAIN[:-2], "--epochs", "2")),
    ("deltaprop.network.Network.predict", TypeError("boom"), ("predict", "{d}/model.npz", "{d}/data.csv")),
    (
        "deltaprop.cli._predict.classification_metrics",
        ValueError("boom"),
        ("evaluate", "{d}/model.npz", "{d}/data.csv"),
    ),
    (
        "deltaprop.plots.plot_network",
        ImportError("No module named 'boom'"),
        ("plot", "network", "--model", "{d}/model.npz", "--out", "{d}/n.png"),
    ),
]


@pytest.mark.parametrize(("target", "error", "args"), PLANTED_BUGS, ids=[t for t, _, _ in PLANTED_BUGS])
def test_a_bug_shows_its_traceback_not_a_user_error(cli, broken, monkeypatch, target, error, args):
    monkeypatch.setattr(target, _raise(error))
    result = cli(*(a.format(d=broken) for a in args))
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert "Traceback (most recent call last)" in result.stderr
    assert f"{type(error).__name__}: {error}" in result.stderr
    lines = result.stderr.strip().splitlines()
    assert not any(line.startswith("Error: ") for line in lines)
    assert lines[-1].startswith("This is a bug in deltaprop")


def test_debug_lets_a_bug_through(cli, broken, monkeypatch):
    monkeypatch.setattr("deltaprop.network.Network.predict", _raise(ValueError("boom")))
    result = cli("--debug", "predict", broken / "model.npz", broken / "data.csv")
    assert isinstance(result.exception, ValueError) and str(result.exception) == "boom"


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ImportError("classification_metrics needs scikit-learn: pip install 'deltaprop[sklearn]'"),
            "Error: classification_metrics needs scikit-learn: pip install 'deltaprop[sklearn]'",
        ),
        (
            PermissionError(13, "Permission denied", "/data/m.json"),
            "Error: Permission denied: '/data/m.json'",
        ),
        (IsADirectoryError(21, "Is a directory", "/data"), "Error: Is a directory: '/data'"),
    ],
)
def test_a_missing_extra_or_a_file_system_error_is_one_line(cli, broken, monkeypatch, error, line):
    monkeypatch.setattr("deltaprop.cli._predict.classification_metrics", _raise(error))
    result = cli("evaluate", broken / "model.npz", broken / "data.csv")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [line]


@pytest.mark.parametrize("command", ["train", "gradcheck", "explain"])
def test_every_field_of_a_commands_options_is_one_of_its_options(cli, monkeypatch, command):
    import dataclasses

    from deltaprop.cli import _options

    options = {
        "train": _options.TrainOptions,
        "gradcheck": _options.GradcheckOptions,
        "explain": _options.ExplainOptions,
    }[command]
    monkeypatch.setenv("COLUMNS", "200")
    shown = _ok(cli(command, "--help")).stdout
    arguments = {"train": ["data"]}.get(command, [])
    for field in dataclasses.fields(options):
        if field.name not in arguments:
            option = {"form": "--format"}.get(field.name, f"--{field.name.replace('_', '-')}")
            assert f"{option} " in shown, field.name


# ------------------------------------------------------------ gradcheck, explain
def test_gradcheck_prints_per_layer_errors(cli, files):
    result = _ok(cli("gradcheck", "--sizes", "3,5,4,2", "--activation", "tanh,sigmoid", "--samples", 4))
    assert "rel. error dL/dW^(h)" in result.stdout
    assert "backpropagation is right" in result.stdout
    rows = [
        line for line in result.stdout.splitlines() if line.strip().startswith(("│       1", "│       3"))
    ]
    assert len(rows) == 2
    _ok(cli("gradcheck", "--model", files / "animals.npz", "--l2", 0.01))


def test_explain_traces_a_models_row_with_the_networks_numbers(cli, files):
    result = _ok(
        cli("explain", "--model", files / "animals.npz", "--data", files / "animals.csv", "--row", 2)
    )
    model = load_model(files / "animals.npz")
    row = _animals().iloc[2:3]
    X = model.preprocessor.transform(row)
    Y = model.preprocessor.encode_target(row)
    assert result.stdout == trace(model.network, X, Y, lr=0.1).to_text()
    grads = model.network.backward(model.network.forward(X), Y)
    np.testing.assert_array_equal(trace(model.network, X, Y)["dL/dW^(1)"], grads.W[0])


def test_explain_formats(cli, tmp_path):
    text = _ok(cli("explain")).stdout
    assert "delta^(1)" in text and "dL/dW^(2)" in text
    assert _ok(cli("explain", "--format", "markdown")).stdout.startswith("# Backpropagation trace")
    latex = _ok(cli("explain", "--format", "latex", "--document", "--samples", 3)).stdout
    assert latex.startswith("\\documentclass") and "\\begin{align*}" in latex
    _ok(cli("explain", "--sizes", "2,4,1", "--output", "identity", "--out", tmp_path / "trace.txt"))
    assert "f(X)" in (tmp_path / "trace.txt").read_text()


# ------------------------------------------------------------ plot, datasets
PLOTS = [
    ("activations",),
    ("loss", "--model", "{d}/moons.npz"),
    ("gradient-norms", "--model", "{d}/moons.npz"),
    ("network", "--model", "{d}/animals.npz"),
    ("decision-regions", "--model", "{d}/moons.npz", "--data", "{d}/moons.csv"),
    ("neuron-maps", "--model", "{d}/moons.npz", "--data", "{d}/moons.csv", "--layer", "2"),
    ("confusion-matrix", "--model", "{d}/animals.npz", "--data", "{d}/animals.csv"),
    ("predicted-vs-true", "--model", "{d}/prices.npz", "--data", "{d}/prices.csv"),
]


@pytest.mark.parametrize("args", PLOTS, ids=[a[0] for a in PLOTS])
def test_plot_writes_a_png(cli, tmp_path, files, args):
    out = tmp_path / "figure.png"
    result = _ok(cli("plot", *(a.format(d=files) for a in args), "--out", out, "--dpi", 40))
    assert out.read_bytes()[:4] == PNG
    assert str(out) in result.stdout.replace("\n", "")


def test_plot_default_file_name(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _ok(cli("plot", "activations", "--activations", "tanh,gelu", "--dpi", 30))
    assert (tmp_path / "activations.png").read_bytes()[:4] == PNG


def test_datasets_lists_and_exports(cli, tmp_path):
    listing = _ok(cli("datasets")).stdout
    for name in ("xor", "moons", "spirals", "regression_curve", "digits", "diabetes"):
        assert name in listing
    _ok(cli("datasets", "spirals", "--out", tmp_path / "s.parquet", "--seed", 3))
    frame = pd.read_parquet(tmp_path / "s.parquet")
    assert list(frame.columns) == ["x1", "x2", "y"] and len(frame) == 300
    assert sorted(frame["y"].unique()) == [0, 1, 2]


# ------------------------------------------------------------ demo
def test_demo_quick_writes_a_report_with_every_figure(cli, tmp_path):
    result = _ok(cli("demo", "--quick", "--png", "--out", tmp_path / "demo"))
    page = (tmp_path / "demo" / "report.html").read_text()
    assert str((tmp_path / "demo" / "report.html").resolve()) in result.stdout.replace("\n", "")
    for name in DEMO_FIGURES:
        assert f'id="fig-{name}"' in page, name
        assert (tmp_path / "demo" / f"{name}.png").read_bytes()[:4] == PNG
    assert page.count('src="data:image/png;base64,') == len(DEMO_FIGURES)
    assert "delta^(1)" in page and "dL/dW^(2)" in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained


# ------------------------------------------------------------ as a subprocess
def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "deltaprop", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_subprocess_round_trip_and_error(tmp_path):
    _write(_animals(), tmp_path / "animals.parquet")
    done = _run(
        "train", "animals.parquet", "-t", "species", "-o", "m.npz", "--epochs", 30, "-q", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    done = _run("predict", "m.npz", "animals.parquet", "--out", "p.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 150
    done = _run("evaluate", "m.npz", "animals.parquet", "--target", "species", cwd=tmp_path)
    assert done.returncode == 0 and "accuracy" in done.stdout
    done = _run("evaluate", "m.npz", "missing.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["Error: No such file: 'missing.csv'."]
    assert "Traceback" not in done.stderr


def test_subprocess_version():
    from deltaprop import __version__

    done = _run("--version", cwd=None)
    assert done.returncode == 0 and done.stdout.strip() == f"deltaprop {__version__}"
