"""Regression tests of issue 15: each bad input a clear error before any work is lost.

One test (or one parametrised case) per reproduction of the issue: outputs checked
before work (pre-flight), bounded resources, wrong or silent results, model files that
pass the digest but lie, and the ecosystem.  The fuzz suite (tests/test_fuzz.py) keeps
the general property; these pin the cases.
"""

import os
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deltaprop.cli import _preflight
from deltaprop.cli._errors import EXIT_CODES
from deltaprop.modelfile import ModelFileError, atomic_write, load_file, save
from deltaprop.network import Network

ROOT = Path(__file__).resolve().parents[1]


def _user_error(result, *fragments):
    """Exit code 1 with one line 'Error: ...' holding every fragment, and no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def _blobs(n=80, k=2, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n) - y, "y": y})


@pytest.fixture(scope="module")
def trained(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("hardening")
    _blobs().to_csv(d / "data.csv", index=False)
    _ok(cli("train", d / "data.csv", "-t", "y", "-o", d / "model.npz", "--epochs", 3, "-q"))
    return d


TRAIN = ("train", "{d}/data.csv", "-t", "y", "-q", "--epochs", "2")


# --------------------------------------------------------- work lost late
@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (("-o", "{d}/afile/x.npz"), ["--out '{d}/afile/x.npz' cannot be written", "'{d}/afile' is a file"]),
        (("-o", "{d}/m.npz", "--checkpoint", "{d}/afile/ck.npz"), ["--checkpoint", "is a file"]),
        (("-o", "{d}/m.npz", "--report", "{d}/afile"), ["--report '{d}/afile' is a file, not a folder"]),
        (("-o", "{d}/folder"), ["--out '{d}/folder' is a folder"]),
        (("-o", "{d}/m.npz", "--checkpoint", "{d}/m.npz"), ["name the same location"]),
    ],
    ids=["out-under-a-file", "checkpoint-under-a-file", "report-is-a-file", "out-is-a-folder", "same"],
)
def test_outputs_are_checked_before_training(cli, tmp_path, extra, fragments):
    _blobs().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    result = cli(*(a.format(d=tmp_path) for a in (*TRAIN, *extra)))
    _user_error(result, *(f.format(d=tmp_path) for f in fragments))
    assert "Task:" not in result.stdout  # nothing was read, let alone trained


def test_an_unwritable_location_names_the_file_not_a_temporary_one(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "model.npz", lambda f: f.write(b"x"))
    assert info.value.filename == str(tmp_path / "model.npz")


def test_preflight_probes_that_the_folder_takes_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(_preflight, "_can_create_in", lambda folder: "Permission denied")
    with pytest.raises(Exception, match=r"--out .*m\.npz. cannot be written: Permission denied"):
        _preflight.check_outputs([_preflight.Output(tmp_path / "m.npz", "--out")])


# --------------------------------------------------------- data overwritten
def test_train_refuses_to_write_its_model_over_the_data(cli, tmp_path):
    data = tmp_path / "data.csv"
    _blobs().to_csv(data, index=False)
    before = data.read_bytes()
    _user_error(cli("train", data, "-t", "y", "-o", data, "-q"), "is also an input of this command")
    assert data.read_bytes() == before


def test_train_refuses_to_replace_a_file_that_is_not_a_model_without_force(cli, tmp_path):
    _blobs().to_csv(tmp_path / "data.csv", index=False)
    notes = tmp_path / "notes.npz"
    notes.write_text("my notes")
    args = ("train", tmp_path / "data.csv", "-t", "y", "-o", notes, "-q", "--epochs", 1)
    _user_error(cli(*args), "is not a deltaprop model file; pass --force")
    assert notes.read_text() == "my notes"
    _ok(cli(*args, "--force"))
    load_file(notes)


def test_a_model_file_is_replaced_as_documented(cli, tmp_path, trained):
    model = tmp_path / "m.npz"
    for _ in range(2):
        _ok(cli("train", trained / "data.csv", "-t", "y", "-o", model, "-q", "--epochs", 1))


@pytest.mark.parametrize("which", ["data", "model"])
def test_predict_refuses_to_write_over_its_inputs(cli, trained, which):
    target = trained / ("data.csv" if which == "data" else "model.npz")
    before = target.read_bytes()
    result = cli("predict", trained / "model.npz", trained / "data.csv", "--out", target)
    if which == "model":
        _user_error(result, "Cannot tell the format")  # .npz is no table: refused before the input check
    else:
        _user_error(result, "is also an input")
    assert target.read_bytes() == before


def test_evaluate_and_explain_refuse_to_write_over_their_inputs(cli, trained):
    model, data = trained / "model.npz", trained / "data.csv"
    before = data.read_bytes()
    _user_error(cli("evaluate", model, data, "--json", data), "--json", "is also an input")
    _user_error(cli("explain", "--model", model, "--data", data, "--out", data), "is also an input")
    _user_error(cli("plot", "network", "--model", model, "--out", model), "--out must name a .png")
    assert data.read_bytes() == before


def test_datasets_never_replaces_a_file_without_force(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("xor.csv").write_text("my own data\n")
    _user_error(cli("datasets", "xor"), "--out 'xor.csv' exists; pass --force")
    assert Path("xor.csv").read_text() == "my own data\n"
    _ok(cli("datasets", "xor", "--force"))
    assert pd.read_csv("xor.csv").columns.tolist()[-1] == "y"


# --------------------------------------------------------- resources
def _bomb(path, declared_mb=30):
    """A model file's entry that DEFLATE squeezes from ``declared_mb`` MB to a few kB."""
    net = Network([2, 2], random_state=0)
    save(net, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        header = (
            b"\x93NUMPY\x01\x00v\x00"
            + (
                b"{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % (declared_mb * 2**20 // 8)
            ).ljust(117, b" ")
            + b"\n"
        )
        zf.writestr("extra/zeros.npy", header + bytes(declared_mb * 2**20))
    return path


def test_a_compressed_entry_is_refused_by_its_declared_size_before_decompressing(tmp_path):
    path = _bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="refused before decompressing"):
        load_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - started < 2.0 and peak < 5 * 2**20


@pytest.mark.parametrize(
    ("name", "message"),
    [("../evil.npy", "not the name of a model file's array"), ("W1.npy", "twice")],
)
def test_entry_names_are_checked(tmp_path, name, message):
    path = tmp_path / "m.npz"
    save(Network([2, 2], random_state=0), path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(name, b"\x93NUMPY")
    with pytest.raises(ModelFileError, match=message):
        load_file(path)


def test_confusion_matrix_of_many_classes_stays_bounded():
    from deltaprop.plots import plot_confusion_matrix

    rng = np.random.default_rng(0)
    true, pred = rng.integers(0, 300, 3000), rng.integers(0, 300, 3000)
    started = time.perf_counter()
    fig = plot_confusion_matrix(true, pred)
    ax = fig.axes[0]
    assert not ax.texts and len(ax.get_xticks()) <= 30
    assert max(fig.get_size_inches()) <= 12.5 and "counts not written" in ax.get_title()
    assert time.perf_counter() - started < 10


def test_a_network_too_large_for_memory_is_refused_with_its_size(cli, trained, monkeypatch):
    monkeypatch.setattr(_preflight, "available_memory", lambda: 10**9)
    args = ("train", trained / "data.csv", "-t", "y", "-o", trained / "big.npz", "-q")
    line = _user_error(cli(*args, "--hidden", "1000000,1000"), "would need about", "GB of memory")
    assert "1,003,003,002 parameters" in line
    _user_error(cli(*args, "--hidden", "100000000"), "--hidden asks for a layer of 100,000,000 units")


@pytest.mark.parametrize("dpi", ["0", "100000", "-5"])
def test_plot_dpi_is_bounded(cli, trained, dpi):
    _user_error(cli("plot", "activations", "--dpi", dpi, "--out", trained / "a.png"), "--dpi must be in")


def test_a_figure_too_large_is_refused_with_its_size(cli, trained, monkeypatch):
    from deltaprop.cli import _tools

    monkeypatch.setattr(_tools, "MAX_PIXELS", 1000)
    _user_error(cli("plot", "activations", "--out", trained / "a.png"), "pixels", "lower --dpi")
    assert not (trained / "a.png").exists()


def test_a_long_gradient_check_is_refused_with_its_estimate(cli):
    started = time.perf_counter()
    _user_error(cli("gradcheck", "--sizes", "1000,1000,1000"), "would take about", "hours")
    assert time.perf_counter() - started < 20


def test_a_gradient_check_of_some_seconds_announces_its_estimate(cli, monkeypatch):
    from deltaprop.cli import _tools

    monkeypatch.setattr(_tools, "GRADCHECK_NOTE_S", 0.0)
    assert "takes about" in _ok(cli("gradcheck")).stdout


# --------------------------------------------------------- wrong or silent
def test_divergence_with_a_checkpoint_gives_the_divergence_advice(cli, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = 1000.0 * frame["a"] + rng.normal(size=60)
    frame.to_csv(tmp_path / "r.csv", index=False)
    result = cli(
        "train", tmp_path / "r.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q", "--solver", "gd",
        "--lr", "100", "--epochs", "50", "--checkpoint", tmp_path / "ck.npz",
    )  # fmt: skip
    line = _user_error(result, "training diverged")
    assert "JSON" not in line and not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (("--solver", "sgd"), "--solver sgd (the checkpoint's: adam)"),
        (("--lr", "0.1"), "--lr 0.1 (the checkpoint's: 0.01)"),
        (("--seed", "3"), "--seed 3 (the checkpoint's: 0)"),
    ],
)
def test_resume_refuses_changed_options(cli, tmp_path, trained, changed, named):
    args = ("train", trained / "data.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q")
    _ok(cli(*args, "--epochs", 2, "--checkpoint", tmp_path / "ck.npz"))
    _user_error(cli(*args, "--epochs", 4, "--resume", tmp_path / "ck.npz", *changed), named)
    resumed = _ok(cli(*args, "--epochs", 4, "--resume", tmp_path / "ck.npz"))
    assert "after 2 epochs; 2 to go" in " ".join(resumed.stdout.split())


def test_early_stopping_without_validation_rows_is_refused(cli, tmp_path):
    frame = _blobs(n=60, k=30)  # 2 rows per class
    frame["y"] = "class" + frame["y"].astype(str)
    frame.to_csv(tmp_path / "many.csv", index=False)
    args = ("train", tmp_path / "many.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q", "--epochs", 2)
    _user_error(
        cli(*args, "--early-stopping"), "--early-stopping needs validation rows", "one row of each class"
    )
    assert "training without validation" in _ok(cli(*args)).stdout
    _user_error(cli(*args, "--early-stopping", "--validation", "0"), "needs --validation above 0")


@pytest.mark.parametrize("tol", ["nan", "inf", "-1", "0"])
def test_gradcheck_tol_must_be_a_positive_number(cli, tol):
    _user_error(cli("gradcheck", "--tol", tol), "--tol must be")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--lr", "nan"),
            "--lr must be a finite number",
        ),
        (
            ("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--lr", "inf"),
            "--lr must be a finite number",
        ),
        (
            ("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--epochs", "10" * 12),
            "--epochs must be in",
        ),
        (("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--patience", "0"), "--patience must be"),
        (("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--validation", "nan"), "--validation must"),
        (("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--l2", "inf"), "--l2 must be a finite"),
        (
            ("train", "{d}/data.csv", "-t", "y", "-o", "{d}/m.npz", "--batch-size", "²"),
            "--batch-size must be",
        ),
        (("explain", "--digits", "1000000"), "--digits must be in [0, 17]"),
        (("explain", "--samples", "0"), "--samples must be in"),
        (("explain", "--lr", "nan"), "--lr must be a finite number"),
        (("gradcheck", "--samples", "100000000"), "--samples must be in"),
        (("gradcheck", "--l2", "nan"), "--l2 must be a finite number"),
    ],
)
def test_option_ranges_name_the_option(cli, trained, args, fragment):
    _user_error(cli(*(a.format(d=trained) for a in args)), fragment)


def test_hidden_zero_is_refused_with_the_way_to_ask_for_no_hidden_layer(cli, trained):
    args = ("train", trained / "data.csv", "-t", "y", "-o", trained / "m0.npz", "-q", "--epochs", 1)
    _user_error(cli(*args, "--hidden", "0"), "--hidden 0 is not a layer width", "--hidden none")
    assert "Network [2, 2]" in _ok(cli(*args, "--hidden", "none")).stdout


def test_ctrl_c_saves_the_weights_and_exits_130(tmp_path):
    _blobs(n=400).to_csv(tmp_path / "data.csv", index=False)
    model, ck = tmp_path / "m.npz", tmp_path / "ck.npz"
    command = [sys.executable, "-m", "deltaprop", "train", str(tmp_path / "data.csv"), "-t", "y"]
    command += ["-o", str(model), "-q", "--epochs", "1000000", "--batch-size", "1", "--checkpoint", str(ck)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ck.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert load_file(model).metadata["history"]["stop_reason"] == "interrupted"
    assert EXIT_CODES[130].startswith("interrupted")


def test_a_stray_word_in_a_numeric_column_is_named_as_such(cli, tmp_path):
    frame = _blobs()
    frame["a"] = frame["a"].astype(object)
    frame.loc[7, "a"] = "oops"
    frame.to_csv(tmp_path / "d.csv", index=False)
    line = _user_error(
        cli("train", tmp_path / "d.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q"),
        "olumn 'a' holds numbers but also the text ['oops'] in rows [7]",
    )
    assert "identifier" not in line


def test_a_numeric_id_column_is_named_with_a_warning(cli, tmp_path):
    frame = _blobs()
    frame.insert(0, "id", np.arange(1000, 1000 + len(frame)))
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = _ok(cli("train", tmp_path / "d.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q", "--epochs", 1))
    assert "Warning: The column 'id' holds a different integer in every row" in result.stderr


def test_identifier_and_date_columns_are_named_in_one_run(cli, tmp_path):
    frame = _blobs(n=150)
    frame["name"] = [f"user{i}" for i in range(len(frame))]
    frame["day"] = pd.date_range("2024-01-01", periods=len(frame)).astype(str)
    frame.to_csv(tmp_path / "d.csv", index=False)
    _user_error(
        cli("train", tmp_path / "d.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q"),
        "'name' has 134 distinct values (more than 100); it looks like an identifier",
        "'day' has 134 distinct values (more than 100); it looks like dates",
        "--drop name,day",
    )


def test_preprocessing_errors_are_data_errors_and_user_errors():
    from deltaprop.cli._errors import user_error_message
    from deltaprop.preprocessing import DataError, MissingValuesError, Preprocessor

    with pytest.raises(DataError) as info:
        Preprocessor.fit(pd.DataFrame({"x": [1.0, 2.0], "y": [1, 1]}), "y")
    assert user_error_message(info.value) is not None
    assert issubclass(MissingValuesError, DataError) and issubclass(DataError, ValueError)


# --------------------------------------------------------- lying model files
def _rewrite(path, change):
    """Change the stored preprocessing and save again: the digest is recomputed, the file still lies."""
    model = load_file(path)
    metadata = dict(model.metadata)
    change(metadata["preprocessing"], model.arrays)
    save(model.network, path, metadata=metadata, arrays=model.arrays)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m, a: m.update(classes=[0, 0]), "not two or more distinct labels"),
        (lambda m, a: m.update(classes=[0, 1, 2]), "3 classes, but the network has 2 output units"),
        (
            lambda m, a: m.update(task="regression", classes=None, target_mean=0.0, target_scale=1.0),
            "regression",
        ),
        (
            lambda m, a: (
                m.update(numeric=["a"], columns=["a"]),
                a.update(
                    {
                        "preprocessing.mean": a["preprocessing.mean"][:1],
                        "preprocessing.scale": a["preprocessing.scale"][:1],
                    }
                ),
            ),
            "it makes 1 inputs, but the network takes 2",
        ),
        (lambda m, a: a.update({"preprocessing.scale": np.array([0.0, 1.0])}), "scales positive"),
    ],
    ids=["repeated-classes", "class-count", "task", "feature-count", "scale"],
)
def test_a_model_file_whose_preprocessing_lies_is_refused_at_load(cli, tmp_path, trained, change, fragment):
    path = tmp_path / "m.npz"
    path.write_bytes((trained / "model.npz").read_bytes())
    _rewrite(path, change)
    for args in (("predict", path, trained / "data.csv"), ("evaluate", path, trained / "data.csv")):
        _user_error(cli(*args), "The model file", fragment)


# --------------------------------------------------------- ecosystem
def test_pipeline_set_output_pandas_works_with_the_estimator():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from deltaprop.estimators import MLPClassifier

    frame = _blobs()
    X, y = frame[["a", "b"]], frame["y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier((3,), max_iter=3))])
        pipe.set_output(transform="pandas").fit(X, y)
        mlp = pipe[-1]
        hidden = mlp.transform(pipe[:-1].transform(X))
    assert list(hidden.columns) == ["z1_1", "z1_2", "z1_3"] == list(mlp.get_feature_names_out())
    assert list(mlp.transform(pipe[:-1].transform(X), layer=2).columns) == ["z2_1"]  # one logistic unit
    assert pipe.predict(X).shape == (len(X),)


def test_a_core_only_install_names_the_cli_extra():
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'typer':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from deltaprop.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", blocker], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the deltaprop command line needs the package 'typer', which is not installed: "
        "pip install 'deltaprop[cli]'"
    ]


def test_figures_without_matplotlib_name_the_plots_extra(cli, trained, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    _user_error(cli("plot", "activations", "--out", trained / "a.png"), "pip install 'deltaprop[plots]'")


# --------------------------------------------------------- exit codes
def test_usage_errors_exit_2(cli):
    assert cli("train").exit_code == 2
    assert cli("gradcheck", "--samples", "many").exit_code == 2
    assert cli("nonsense").exit_code == 2


def test_docs_have_the_exit_codes_and_the_preflight_rules():
    text = (ROOT / "docs" / "cli.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} " in text
    assert "## Before any work: pre-flight" in text
    assert "## What the reader bounds" in (ROOT / "docs" / "model-files.md").read_text()


def test_neuron_maps_of_a_wide_layer_show_the_first_units():
    from deltaprop.plots import plot_neuron_maps

    fig = plot_neuron_maps(Network([2, 200, 2], random_state=0), resolution=5)
    assert sum(1 for ax in fig.axes if ax.images) == 64
    assert "the first 64 of 200 units" in fig._suptitle.get_text()


def test_evaluate_with_many_classes_shows_a_bounded_table(cli, tmp_path):
    frame = _blobs(n=120, k=40)
    frame["y"] = "class" + frame["y"].astype(str)
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.npz"
    _ok(cli("train", tmp_path / "d.csv", "-t", "y", "-o", model, "-q", "--epochs", 1, "--validation", 0))
    result = _ok(cli("evaluate", model, tmp_path / "d.csv", "--json", tmp_path / "m.json"))
    assert "the 30 with most rows of 40; --json has all" in " ".join(result.stdout.split())
    assert sum(line.count("class") for line in result.stdout.splitlines() if line.startswith("│ class")) == 30


@pytest.mark.parametrize("column", ["a", "y"])
def test_finite_but_huge_values_are_named(cli, tmp_path, column):
    frame = _blobs(n=20).astype({"y": float})
    frame[column] = frame[column] * 1e300
    frame.to_csv(tmp_path / "d.csv", index=False)
    args = ("train", tmp_path / "d.csv", "-t", "y", "-o", tmp_path / "m.npz", "-q", "--task", "regression")
    _user_error(cli(*args), f"The column(s) '{column}' (largest magnitude", "too large to standardise")


def test_one_row_regression_is_refused_and_evaluated_as_nan_r2(cli, tmp_path):
    frame = _blobs(n=20).astype({"y": float})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.iloc[:1].to_csv(tmp_path / "one.csv", index=False)
    args = ("-t", "y", "-o", tmp_path / "m.npz", "-q", "--task", "regression", "--epochs", 1)
    _user_error(cli("train", tmp_path / "one.csv", *args), "Regression needs at least two rows")
    _ok(cli("train", tmp_path / "d.csv", *args))
    _ok(cli("evaluate", tmp_path / "m.npz", tmp_path / "one.csv", "--json", tmp_path / "m.json"))
    import json

    assert json.loads((tmp_path / "m.json").read_text())["r2"] is None
