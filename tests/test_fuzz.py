"""Fuzzing the command line and the model-file reader (hypothesis).

The property, for every command and every input: the outcome is success (exit 0) or a
user error of one line with exit code 1, or a usage error with exit code 2; never a
traceback, and no input file is ever changed.  Model files and checkpoints with random
byte edits, zip-structure edits or metadata edits whose digest was recomputed are
refused with a ModelFileError or load consistently, within a time bound.

``make test`` runs the short profile (a few examples per property, well under a minute
in all); ``DELTAPROP_FUZZ=long`` runs many more examples per property.
"""

import hashlib
import io
import json
import os
import tempfile
import time
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaprop.checkpoint import load_checkpoint
from deltaprop.cli._data import load_model
from deltaprop.cli._errors import UserError
from deltaprop.modelfile import ModelFileError, load_file, save

# DELTAPROP_FUZZ=long: 300 examples per property; DELTAPROP_FUZZ=N: N examples; unset: 8.
PROFILE = os.environ.get("DELTAPROP_FUZZ", "")
LONG = bool(PROFILE)
FUZZ = settings(
    max_examples=300 if PROFILE == "long" else int(PROFILE) if PROFILE.isdigit() else 8,
    deadline=None,
    derandomize=not LONG,  # the short profile is the same every run: CI does not flake
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
SECONDS_PER_COMMAND = 60.0  # generous: CI machines are shared


# ------------------------------------------------------------------ the property
def _digest(paths):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def check_outcome(cli, *args, inputs=()):
    """Run ``deltaprop ARGS``: success, or one error line with exit 1, or exit 2; inputs unchanged."""
    before = _digest(inputs)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # A label the font cannot draw: the command shows matplotlib's warning as one yellow line
        # and succeeds; here warnings are errors, so it is let through as it is for a user.
        warnings.filterwarnings("default", message=r"Glyph \d+ .* missing from font")
        result = cli(*args)
    elapsed = time.perf_counter() - started
    stderr = result.stderr
    assert "Traceback" not in stderr and "This is a bug" not in stderr, (args, stderr[-1500:])
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, stderr)
    if result.exit_code == 1:
        lines = [line for line in stderr.strip().splitlines() if not line.startswith("Warning: ")]
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, stderr)
    assert _digest(inputs) == before, ("an input file changed", args)
    assert elapsed < SECONDS_PER_COMMAND, (args, elapsed)
    return result


@contextmanager
def _folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


# ------------------------------------------------------------------ random tables
_CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(["", "NA", "abc", "1e400", "-0", " 3 ", "é", "0x10", "TRUE", "2024-01-01"]),
    st.text(max_size=6),
)


def _numeric_column(n):
    return st.lists(st.floats(min_value=-100, max_value=100), min_size=n, max_size=n)


@st.composite
def tables(draw):
    """A small table: numeric, text and messy columns, and a target of few, one or many classes."""
    n = draw(st.integers(min_value=0, max_value=30))
    columns = {}
    for j in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["numeric", "huge", "text", "messy", "id"]))
        if kind == "numeric":
            columns[f"x{j}"] = draw(_numeric_column(n))
        elif kind == "huge":
            columns[f"x{j}"] = draw(st.lists(st.floats(-1e308, 1e308), min_size=n, max_size=n))
        elif kind == "text":
            columns[f"x{j}"] = draw(
                st.lists(st.sampled_from(["red", "blue", "green"]), min_size=n, max_size=n)
            )
        elif kind == "messy":
            columns[f"x{j}"] = draw(st.lists(_CELL, min_size=n, max_size=n))
        else:
            columns[f"x{j}"] = list(range(n))
    target = draw(st.sampled_from(["two", "one", "many", "numbers", "huge", "messy"]))
    if target == "two":
        y = [i % 2 for i in range(n)]
    elif target == "one":
        y = ["same"] * n
    elif target == "many":
        y = [f"c{i}" for i in range(n)]
    elif target == "numbers":
        y = draw(_numeric_column(n))
    elif target == "huge":
        y = draw(st.lists(st.floats(-1e308, 1e308), min_size=n, max_size=n))
    else:
        y = draw(st.lists(_CELL, min_size=n, max_size=n))
    columns["y"] = y
    return pd.DataFrame(columns)


def _write_csv(frame, path, encoding):
    text = frame.to_csv(index=False)
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8"))
    return path


@FUZZ
@given(
    frame=tables(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
    validation=st.sampled_from(["0", "0.1", "0.5"]),
)
def test_random_tables_through_train_predict_evaluate_explain_plot(cli, frame, encoding, validation):
    with _folder() as d:
        data = _write_csv(frame, d / "data.csv", encoding)
        model = d / "model.npz"
        trained = check_outcome(
            cli,
            "train",
            data,
            "-t",
            "y",
            "-o",
            model,
            "-q",
            "--epochs",
            2,
            "--hidden",
            3,
            "--validation",
            validation,
            "--missing",
            "impute",
            inputs=[data],
        )
        if trained.exit_code != 0:
            return
        inputs = [data, model]
        check_outcome(cli, "predict", model, data, "--out", d / "p.csv", "--proba", inputs=inputs)
        check_outcome(cli, "evaluate", model, data, "--json", d / "m.json", inputs=inputs)
        check_outcome(cli, "explain", "--model", model, "--data", data, inputs=inputs)
        check_outcome(cli, "gradcheck", "--model", model, inputs=inputs)
        for kind in ("confusion-matrix", "predicted-vs-true", "network", "loss"):
            check_outcome(
                cli,
                "plot",
                kind,
                "--model",
                model,
                "--data",
                data,
                "--out",
                d / f"{kind}.png",
                "--dpi",
                30,
                inputs=inputs,
            )


# ------------------------------------------------------------------ random options
_NUMBER_TEXT = st.one_of(
    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "abc", "", "1,5", "0x1f", "٣"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
_SMALL_INT_TEXT = st.one_of(
    st.sampled_from(["0", "-1", "1", "2", "x", "1.5", "10000000000", "99999999999999999999999", ""]),
    st.integers(min_value=-3, max_value=3).map(str),
)
_SIZES_TEXT = st.one_of(
    st.sampled_from(["none", "0", "", "3", "3,2", "-1", "100000000", "a,b", "1,,2", "4,0,3", " 2 , 3 "]),
    st.lists(st.integers(min_value=-2, max_value=12), min_size=0, max_size=4).map(
        lambda xs: ",".join(map(str, xs))
    ),
    st.text(max_size=8),
)


@pytest.fixture(scope="module")
def small(cli, tmp_path_factory):
    """A small data set and a model trained on it, read by the option fuzzers."""
    d = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["y"] = np.where(frame["a"] + frame["b"] > 0, "yes", "no")
    frame.to_csv(d / "data.csv", index=False)
    result = cli("train", d / "data.csv", "-t", "y", "-o", d / "model.npz", "-q", "--epochs", "3")
    assert result.exit_code == 0, result.stderr
    return d


@FUZZ
@given(
    option=st.sampled_from(
        [
            "--lr",
            "--l2",
            "--alpha",
            "--validation",
            "--epochs",
            "--patience",
            "--seed",
            "--batch-size",
            "--hidden",
            "--activation",
            "--drop",
            "--target",
        ]
    ),
    value=st.one_of(_NUMBER_TEXT, _SIZES_TEXT, _SMALL_INT_TEXT),
    early=st.booleans(),
)
def test_random_train_options(cli, small, option, value, early):
    if (
        option in ("--epochs", "--patience")
        and value.strip().lstrip("+").isdigit()
        and 3 < int(value) < 10**7
    ):
        value = "3"  # a valid number of epochs trains: keep the example short
    with _folder() as d:
        args = ["train", small / "data.csv", "-t", "y", "-o", d / "m.npz", "-q", option, value]
        if option not in ("--epochs",):
            args += ["--epochs", "2"]
        if early:
            args.append("--early-stopping")
        check_outcome(cli, *args, inputs=[small / "data.csv"])


@FUZZ
@given(
    sizes=_SIZES_TEXT,
    samples=_SMALL_INT_TEXT,
    tol=_NUMBER_TEXT,
    l2=_NUMBER_TEXT,
    activation=st.sampled_from(["tanh", "relu", "sigmoid,tanh", "swish", ""]),
    output=st.sampled_from(["softmax", "sigmoid", "identity", "linear"]),
)
def test_random_gradcheck_options(cli, sizes, samples, tol, l2, activation, output):
    check_outcome(
        cli,
        "gradcheck",
        "--sizes",
        sizes,
        "--samples",
        samples,
        "--tol",
        tol,
        "--l2",
        l2,
        "--activation",
        activation,
        "--output",
        output,
    )


@FUZZ
@given(
    sizes=_SIZES_TEXT,
    samples=_SMALL_INT_TEXT,
    lr=_NUMBER_TEXT,
    digits=_SMALL_INT_TEXT,
    row=_SMALL_INT_TEXT,
    with_model=st.booleans(),
    form=st.sampled_from(["text", "markdown", "latex", "html"]),
)
def test_random_explain_options(cli, small, sizes, samples, lr, digits, row, with_model, form):
    args = ["explain", "--samples", samples, "--lr", lr, "--digits", digits, "--format", form]
    if with_model:
        args += ["--model", small / "model.npz", "--data", small / "data.csv", "--row", row]
    else:
        args += ["--sizes", sizes]
    check_outcome(cli, *args, inputs=[small / "model.npz", small / "data.csv"])


@FUZZ
@given(
    kind=st.sampled_from(
        [
            "activations",
            "loss",
            "gradient-norms",
            "network",
            "decision-regions",
            "neuron-maps",
            "confusion-matrix",
            "predicted-vs-true",
            "pie",
        ]
    ),
    dpi=_SMALL_INT_TEXT,
    layer=_SMALL_INT_TEXT,
    out=st.sampled_from(["fig.png", "fig.PNG", "fig.pdf", "data.csv", "model.npz", "sub/fig.png", "."]),
)
def test_random_plot_options(cli, small, kind, dpi, layer, out):
    with _folder() as d:
        target = small / out if out in ("data.csv", "model.npz") else d / out
        check_outcome(
            cli,
            "plot",
            kind,
            "--model",
            small / "model.npz",
            "--data",
            small / "data.csv",
            "--out",
            target,
            "--dpi",
            dpi,
            "--layer",
            layer,
            inputs=[small / "model.npz", small / "data.csv"],
        )


# ------------------------------------------------------------------ damaged model files
def _loads_consistently(path, reader):
    """The reader refuses the file with its own error, or what it loads predicts finite numbers."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of duplicate names
            loaded = reader(path)
    except (ModelFileError, UserError):
        assert time.perf_counter() - started < 5.0
        return
    net = loaded.network if hasattr(loaded, "network") else loaded.net
    X = np.zeros((3, net.sizes[0]))
    with np.errstate(all="ignore"):
        F = net.predict(X)
    assert F.shape == (3, net.sizes[-1])
    assert time.perf_counter() - started < 5.0


@pytest.fixture(scope="module")
def model_bytes(small):
    return (small / "model.npz").read_bytes()


@FUZZ
@given(
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_random_byte_edits_of_a_model_file(model_bytes, edits, cut):
    data = bytearray(model_bytes)
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    with _folder() as d:
        path = d / "m.npz"
        path.write_bytes(bytes(data))
        _loads_consistently(path, load_model)


def _entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


@FUZZ
@given(
    action=st.sampled_from(["drop", "duplicate", "rename", "deflate", "extra", "swap", "empty"]),
    which=st.integers(min_value=0, max_value=100),
    name=st.sampled_from(
        ["../x.npy", "/abs.npy", "W9.npy", "metadata.npy", "a\\b.npy", "x.txt", "extra/ok.npy"]
    ),
)
def test_random_zip_structure_edits_of_a_model_file(model_bytes, action, which, name):
    entries = _entries(model_bytes)
    i = which % len(entries)
    compression = zipfile.ZIP_STORED
    if action == "drop":
        del entries[i]
    elif action == "duplicate":
        entries.append(entries[i])
    elif action == "rename":
        entries[i] = (name, entries[i][1])
    elif action == "deflate":
        compression = zipfile.ZIP_DEFLATED
    elif action == "extra":
        entries.append((name, entries[i][1]))
    elif action == "swap":
        j = (i + 1) % len(entries)
        entries[i], entries[j] = (entries[i][0], entries[j][1]), (entries[j][0], entries[i][1])
    else:
        entries[i] = (entries[i][0], b"")
    with _folder() as d:
        path = d / "m.npz"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
            with zipfile.ZipFile(path, "w", compression=compression) as zf:
                for entry, payload in entries:
                    zf.writestr(entry, payload)
        _loads_consistently(path, load_model)


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-1e3, 1e3), st.text(max_size=4)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    key=st.sampled_from(
        [
            "target",
            "task",
            "missing",
            "columns",
            "numeric",
            "categories",
            "fill",
            "classes",
            "target_mean",
            "target_scale",
            "version",
        ]
    ),
    value=_JSON,
    drop=st.booleans(),
)
def test_metadata_edits_with_a_recomputed_digest(cli, small, key, value, drop):
    model = load_file(small / "model.npz")
    metadata = json.loads(json.dumps(model.metadata))
    if drop:
        metadata["preprocessing"].pop(key, None)
    else:
        metadata["preprocessing"][key] = value
    with _folder() as d:
        path = d / "m.npz"
        save(model.network, path, metadata=metadata, arrays=model.arrays)  # a valid digest: the file lies
        _loads_consistently(path, load_model)
        check_outcome(cli, "predict", path, small / "data.csv", "--proba", inputs=[path, small / "data.csv"])
        check_outcome(cli, "evaluate", path, small / "data.csv", inputs=[path, small / "data.csv"])


@pytest.fixture(scope="module")
def checkpoint_bytes(cli, small):
    path = small / "ck.npz"
    args = [
        "train",
        str(small / "data.csv"),
        "-t",
        "y",
        "-o",
        str(small / "ck-model.npz"),
        "-q",
        "--epochs",
        "2",
    ]
    result = cli(*args, "--checkpoint", path)
    assert result.exit_code == 0, result.stderr
    return path.read_bytes()


@FUZZ
@given(
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_random_byte_edits_of_a_checkpoint(cli, small, checkpoint_bytes, edits):
    data = bytearray(checkpoint_bytes)
    for where, value in edits:
        data[int(where * len(data))] = value
    with _folder() as d:
        path = d / "ck.npz"
        path.write_bytes(bytes(data))
        _loads_consistently(path, load_checkpoint)
        check_outcome(
            cli,
            "train",
            small / "data.csv",
            "-t",
            "y",
            "-o",
            d / "m.npz",
            "-q",
            "--epochs",
            3,
            "--resume",
            path,
            inputs=[small / "data.csv"],
        )
