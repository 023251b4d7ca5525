import json
import os
import pickle
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltaprop
from deltaprop.activations import ACTIVATIONS, Activation
from deltaprop.losses import OUTPUTS, OutputLoss
from deltaprop.modelfile import (
    FORMAT_VERSION,
    ModelFile,
    ModelFileError,
    atomic_write,
    load,
    load_file,
    save,
)
from deltaprop.modelfile import _format as modelfile
from deltaprop.network import Network


def _net(activation="tanh", output="softmax", dtype="float64", sizes=(3, 5, 4, 2), seed=0):
    return Network(list(sizes), activation=activation, output=output, random_state=seed, dtype=dtype)


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_same_network(got, want):
    assert got.sizes == want.sizes
    assert got.dtype == want.dtype
    assert got.activations == want.activations
    assert got.output is want.output
    for w, v in zip(got.W + got.b, want.W + want.b, strict=True):
        assert _same_bits(w, v)


def _entries(path):
    """Every entry of an .npz (read safely) and its parsed metadata."""
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    header = json.loads(entries.pop("metadata").tobytes())
    return entries, header


def _rewrite(path, *, header=None, entries=None, resign=True):
    """Rewrite a model file with edited header/entries, with a fresh digest unless resign=False."""
    arrays, meta = _entries(path)
    if header is not None:
        header(meta)
    if entries is not None:
        entries(arrays)
    if resign:
        meta["sha256"] = modelfile._digest(arrays, meta)
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _message(path):
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.fixture
def saved(tmp_path):
    net = _net()
    path = save(net, tmp_path / "model.npz", metadata={"epochs": 3}, arrays={"classes": np.arange(2)})
    return net, path


class _Touch:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, target):
        self.target = Path(target)

    def __reduce__(self):
        return (Path.touch, (self.target,))


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_round_trip_is_bit_identical(tmp_path, activation, output, dtype):
    net = _net(activation, output, dtype)
    rng = np.random.default_rng(1)
    for w, v in zip(net.W, net.b, strict=True):  # non-zero biases, values with every mantissa bit
        w += rng.normal(size=w.shape).astype(dtype)
        v += rng.normal(size=v.shape).astype(dtype)
    got = load(save(net, tmp_path / "net.npz"))
    _assert_same_network(got, net)
    X = rng.normal(size=(6, 3))
    assert _same_bits(got.predict(X), net.predict(X))


def test_round_trip_of_depth_one_and_mixed_activations(tmp_path):
    for net in (_net(sizes=(4, 3), output="identity"), _net(["relu", "gelu"], "sigmoid")):
        _assert_same_network(load(save(net, tmp_path / "net.npz")), net)


def test_alias_names_are_saved_as_the_registry_names(tmp_path):
    net = _net("logistic", "linear")
    save(net, tmp_path / "net.npz")
    _, header = _entries(tmp_path / "net.npz")
    assert header["activations"] == ["sigmoid", "sigmoid"]
    assert header["output"] == "identity"


def test_file_layout_and_header(saved):
    _, path = saved
    entries, header = _entries(path)
    assert set(entries) == {"W1", "W2", "W3", "b1", "b2", "b3", "extra/classes"}
    assert entries["W1"].shape == (5, 3)  # W^(h) is (M_h, M_{h-1})
    assert header["format"] == "deltaprop-model"
    assert header["format_version"] == FORMAT_VERSION == 1
    assert header["deltaprop_version"] == deltaprop.__version__
    assert header["sizes"] == [3, 5, 4, 2]
    assert header["activations"] == ["tanh", "tanh"]
    assert header["output"] == "softmax"
    assert header["dtype"] == "float64"
    assert header["arrays"] == ["classes"]
    assert header["user"] == {"epochs": 3}
    assert re.fullmatch(r"[0-9a-f]{64}", header["sha256"])


def test_str_and_path_accepted_and_path_kept_exactly(tmp_path):
    net = _net()
    returned = save(net, str(tmp_path / "weights.bin"))
    assert returned == tmp_path / "weights.bin" and isinstance(returned, Path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]  # no ".npz" appended
    _assert_same_network(load(str(returned)), net)
    _assert_same_network(load_file(returned).network, net)


def test_metadata_and_extra_arrays_round_trip(tmp_path):
    metadata = {
        "name": "iris – 3 classes ✓",
        "epochs": 12,
        "big": 2**70,
        "lr": 0.1,
        "tiny": 5e-324,
        "flags": [True, False, None],
        "nested": {"a": [1, 2.5, "x"], "b": {}},
        "pair": (1, 2),
    }
    arrays = {
        "classes": np.array([3, 5, 7], dtype=np.int8),
        "mask": np.array([[True, False]]),
        "mean": np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 4)),
        "z": np.array([1 + 2j]),
        "big-endian.v2": np.arange(3, dtype=">i4"),
    }
    model = load_file(save(_net(), tmp_path / "m.npz", metadata=metadata, arrays=arrays))
    assert isinstance(model, ModelFile)
    assert model.metadata == {**metadata, "pair": [1, 2]}  # JSON has lists, not tuples
    assert set(model.arrays) == set(arrays)
    for name, arr in arrays.items():
        assert _same_bits(model.arrays[name], arr), name


def test_no_metadata_and_no_arrays_give_empty_dicts(tmp_path):
    model = load_file(save(_net(), tmp_path / "m.npz"))
    assert model.metadata == {} and model.arrays == {}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(metadata=st.dictionaries(st.text(), _json, max_size=4))
def test_any_json_metadata_round_trips(tmp_path, metadata):
    assert (
        load_file(save(_net(sizes=(2, 1), output="identity"), tmp_path / "m.npz", metadata=metadata)).metadata
        == metadata
    )


# ------------------------------------------------------------- refused saves
def test_user_defined_activation_cannot_be_saved(tmp_path):
    square = Activation("square", lambda a: a * a, lambda a, z: 2 * a)
    with pytest.raises(ValueError, match=r"layer 1 uses the user-defined activation 'square'"):
        save(_net([square, "tanh"]), tmp_path / "m.npz")
    fake_relu = Activation("relu", lambda a: a, lambda a, z: np.ones_like(a))  # a known name is not enough
    with pytest.raises(ValueError, match=r"layer 2 uses the user-defined activation 'relu'"):
        save(_net(["tanh", fake_relu]), tmp_path / "m.npz")
    custom = OutputLoss("softmax", "mine", OUTPUTS["softmax"].f, OUTPUTS["identity"].per_sample)
    with pytest.raises(ValueError, match=r"output 'softmax' is user-defined"):
        save(_net(output=custom), tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("metadata", "error", "pattern"),
    [
        ({"a": {"b": {1, 2}}}, TypeError, r"metadata\['a'\]\['b'\] is a set"),
        ({"n": np.int64(3)}, TypeError, r"metadata\['n'\] is a int64.*\.item\(\)"),
        ({"x": [1, np.zeros(2)]}, TypeError, r"metadata\['x'\]\[1\] is a ndarray"),
        ({"k": {1: "one"}}, TypeError, r"metadata\['k'\] has the key 1 of type int"),
        ({"loss": float("nan")}, ValueError, r"metadata\['loss'\] is nan, which JSON cannot store"),
        ({"best": [float("-inf")]}, ValueError, r"metadata\['best'\]\[0\] is -inf"),
        (["not", "a", "dict"], TypeError, r"'metadata' parameter must be a dict"),
    ],
)
def test_metadata_json_cannot_store_is_refused(tmp_path, metadata, error, pattern):
    with pytest.raises(error, match=pattern):
        save(_net(), tmp_path / "m.npz", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arrays", "error", "pattern"),
    [
        ({"objs": np.array([{}, 1], dtype=object)}, TypeError, r"arrays\['objs'\] has dtype object"),
        ({"labels": np.array(["a", "b"])}, TypeError, r"arrays\['labels'\] has dtype <U1"),
        ({"../up": np.zeros(1)}, ValueError, r"arrays has the name '\.\./up'"),
        ({"": np.zeros(1)}, ValueError, r"arrays has the name ''"),
        ({3: np.zeros(1)}, ValueError, r"arrays has the name 3"),
        ([np.zeros(1)], TypeError, r"'arrays' parameter must be a dict"),
    ],
)
def test_bad_extra_arrays_are_refused(tmp_path, arrays, error, pattern):
    with pytest.raises(error, match=pattern):
        save(_net(), tmp_path / "m.npz", arrays=arrays)
    assert list(tmp_path.iterdir()) == []


def test_other_bad_save_arguments(tmp_path):
    with pytest.raises(TypeError, match=r"'net' parameter must be a Network. Got dict"):
        save({}, tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"'path' parameter must be a str or a pathlib.Path. Got int"):
        save(_net(), 3)
    net = _net()
    net.b[1][2] = np.nan
    with pytest.raises(ValueError, match=r"b\^\(2\) contains NaN or infinity"):
        save(net, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ refused loads
def test_missing_file_and_directory(tmp_path):
    assert "there is no such file" in _message(tmp_path / "absent.npz")
    assert "cannot be read" in _message(tmp_path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "m.npz"
    path.write_text("W1 = [[1, 2]]\n")
    assert "not a NumPy .npz (zip) archive" in _message(path)
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "array.npy").rename(path)
    assert "not a NumPy .npz (zip) archive" in _message(path)
    path.write_bytes(b"")
    assert "not a NumPy .npz (zip) archive" in _message(path)


def test_pickle_renamed_npz_is_never_unpickled(tmp_path):
    sentinel = tmp_path / "code-ran"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"W1": _Touch(sentinel)}))
    pickle.loads(pickle.dumps(_Touch(tmp_path / "check")))  # the payload does work when unpickled
    assert (tmp_path / "check").exists()
    assert "not a NumPy .npz (zip) archive" in _message(path)
    assert not sentinel.exists()


def test_object_array_saved_with_allow_pickle_is_refused(tmp_path):
    sentinel = tmp_path / "code-ran"
    path = tmp_path / "model.npz"
    np.savez(path, W1=np.zeros((2, 2)), obj=np.array([_Touch(sentinel)], dtype=object), allow_pickle=True)
    assert "entry 'obj' is an array of Python objects" in _message(path)
    # The same inside an otherwise valid model file, as one of its extra arrays.
    save(_net(), path, arrays={"payload": np.zeros(1)})
    _rewrite(path, entries=lambda e: e.update({"extra/payload": np.array([_Touch(sentinel)], dtype=object)}))
    assert "entry 'extra/payload' is an array of Python objects" in _message(path)
    assert not sentinel.exists()


def test_zip_with_a_file_that_is_not_an_array(saved):
    _, path = saved
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("run.py", "print('hello')")
    assert "it contains 'run.py', which is not a .npy array" in _message(path)
    for content in (b"", b"\x93NUMPY\x09\x00", b"\x93NUMPY\x01\x00\x10\x00{'descr': exec}    \n"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("W1.npy", content)
        assert "entry 'W1' is not a valid .npy array" in _message(path)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_truncated_file(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: max(int(len(data) * keep), 1)])
    assert re.search(r"not a NumPy .npz|truncated or corrupted", _message(path))


def test_a_byte_short(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[:-1])
    assert "truncated or corrupted" in _message(path)


def _flip(path, offset, bit=0x10):
    data = bytearray(path.read_bytes())
    data[offset] ^= bit
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_the_weights_fail_the_crc(saved):
    net, path = saved
    data = path.read_bytes()
    for offset in (data.index(net.W[0].tobytes()) + 3, data.index(net.W[2].tobytes()) + 17):
        _flip(path, offset)
        assert re.search(r"the entry '(W1|W3)\.npy' is corrupted \(its CRC-32", _message(path))
        _flip(path, offset)
    _assert_same_network(load(path), net)


def test_flipped_bytes_in_metadata_headers_and_directory(saved):
    _, path = saved
    data = path.read_bytes()
    places = {
        "metadata JSON": data.index(b'"output"') + 2,
        ".npy header": data.index(b"'descr'") + 3,
        "local file header": data.index(b"PK\x03\x04") + 30,  # the first letter of the name
        "central directory": data.index(b"PK\x01\x02") + 20,  # the compressed size
        "end of directory": data.index(b"PK\x05\x06") + 16,  # the directory's offset
    }
    for place, offset in places.items():
        _flip(path, offset)
        assert "corrupted" in _message(path), place
        _flip(path, offset)
    load(path)


def test_every_single_byte_flip_is_detected_or_harmless(saved):
    """No flipped byte anywhere gives a different network or an error other than ModelFileError."""
    net, path = saved
    data = path.read_bytes()
    refused = 0
    for offset in range(len(data)):
        changed = bytearray(data)
        changed[offset] ^= 0xA5
        path.write_bytes(bytes(changed))
        try:
            model = load_file(path)
        except ModelFileError:
            refused += 1
            continue
        # Only bytes no reader uses (timestamps, attributes, a header's copy of the CRC) may pass.
        _assert_same_network(model.network, net)
        assert model.metadata == {"epochs": 3} and _same_bits(model.arrays["classes"], np.arange(2))
    assert refused > 0.6 * len(data)


def test_crc_error(saved):
    _, path = saved
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("W2.npy")
    # Change the last byte of W2's data, leaving every zip structure intact.
    _flip(path, info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size - 1)
    assert "the entry 'W2.npy' is corrupted (its CRC-32" in _message(path)


def test_header_claiming_more_data_than_stored(saved):
    _, path = saved
    data = path.read_bytes()
    offset = data.index(b"'shape': (5, 3)")
    path.write_bytes(data[:offset] + b"'shape': (9, 3)" + data[offset + 15 :])
    assert "corrupted" in _message(path)
    # With a valid CRC the .npy header check itself catches it.
    save(_net(), path)
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    members["W1.npy"] = members["W1.npy"].replace(b"'shape': (5, 3)", b"'shape': (9, 3)")
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    assert "entry 'W1' holds fewer or more bytes than its shape (9, 3) needs" in _message(path)


def test_wrong_format(saved):
    _, path = saved
    _rewrite(path, header=lambda h: h.update(format="keras-model"))
    assert "its format is 'keras-model', not 'deltaprop-model'" in _message(path)


@pytest.mark.parametrize(("version", "advice"), [(2, "upgrade deltaprop"), (0, "save it again")])
def test_other_format_versions(saved, version, advice):
    _, path = saved
    _rewrite(path, header=lambda h: h.update(format_version=version, deltaprop_version="9.9"))
    message = _message(path)
    assert (
        f"written by deltaprop 9.9 with format version {version}; this deltaprop reads version 1" in message
    )
    assert advice in message


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_format_version_must_be_an_int(saved, version):
    _, path = saved
    _rewrite(path, header=lambda h: h.update(format_version=version))
    assert "format_version" in _message(path)


def test_missing_and_unexpected_entries(saved):
    _, path = saved
    _rewrite(path, entries=lambda e: e.pop("b2"))
    assert "the entries ['b2'] are missing" in _message(path)
    save(_net(), path, arrays={"mean": np.zeros(3)})
    _rewrite(path, entries=lambda e: e.pop("extra/mean"))
    assert "the entries ['extra/mean'] are missing" in _message(path)
    save(_net(), path)
    _rewrite(path, entries=lambda e: e.update(W4=np.zeros((2, 2))))
    assert "unexpected entries ['W4']" in _message(path)
    np.savez(path, W1=np.zeros((2, 2)))
    assert "the entry 'metadata' is missing, so it is not a deltaprop model file" in _message(path)


def test_missing_header_keys(saved):
    _, path = saved
    _rewrite(path, header=lambda h: h.pop("sizes"))
    assert "its metadata lacks the keys ['sizes']" in _message(path)


def test_digest_mismatch_after_rewritten_weights(saved):
    net, path = saved
    changed = net.W[1].copy()
    changed[0, 0] += 1.0
    # The entry is rewritten with a correct CRC-32: only the digest can notice.
    _rewrite(path, entries=lambda e: e.update(W2=changed), resign=False)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert "the file was modified or corrupted" in _message(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h["user"].update(epochs=4),
        lambda h: h.update(output="identity"),
        lambda h: h.update(activations=["relu", "tanh"]),
        lambda h: h.update(sha256="0" * 64),
    ],
)
def test_digest_mismatch_after_edited_metadata(saved, edit):
    _, path = saved
    _rewrite(path, header=edit, resign=False)
    assert "SHA-256 digest does not match its contents: the file was modified or corrupted" in _message(path)


def test_digest_covers_dtype_and_shape(saved):
    net, path = saved
    _rewrite(path, entries=lambda e: e.update(b1=e["b1"].view(np.int64)), resign=False)
    assert "modified or corrupted" in _message(path)
    save(net, path, arrays={"grid": np.zeros((2, 3))})
    _rewrite(path, entries=lambda e: e.update({"extra/grid": np.zeros((3, 2))}), resign=False)
    assert "modified or corrupted" in _message(path)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda h, e: e.update(W2=e["W2"].T.copy()), r"W2 has shape \(5, 4\) .* require \(4, 5\)"),
        (lambda h, e: e.update(b3=e["b3"][:1]), r"b3 shape \(1,\), but sizes \[3, 5, 4, 2\]"),
        (lambda h, e: h.update(sizes=[3, 5, 4, 3]), r"W3 has shape \(2, 4\)"),
        (lambda h, e: e.update(W1=e["W1"].astype(np.float32)), r"W1 and b1 have dtypes float32 and float64"),
        (lambda h, e: h.update(dtype="float16"), r"its dtype 'float16' is not"),
        (lambda h, e: h.update(activations=["tanh", "swish"]), r"its activation 'swish' is unknown"),
        (lambda h, e: h.update(activations=["tanh"]), r"it lists 1 activations for 2 hidden layers"),
        (lambda h, e: h.update(output="log_softmax"), r"its output 'log_softmax' is unknown"),
        (lambda h, e: h.update(sizes=[3, 0, 2]), r"not a list of at least two positive integers"),
        (lambda h, e: h.update(activations="tanh"), r"its activations 'tanh' are not a list"),
        (lambda h, e: h.update(user=[1]), r"its user metadata is not a JSON object"),
        (lambda h, e: h.update(output=7), r"its output 7 is not a string"),
        (lambda h, e: e["W1"].__setitem__((0, 0), np.inf), r"W\[0\] contains NaN or infinity"),
        (lambda h, e: e.update({"extra/classes": e["extra/classes"].astype("<U2")}), r"is an array|dtype"),
    ],
)
def test_inconsistent_contents_with_a_valid_digest(saved, edit, pattern):
    _, path = saved
    stash = {}

    def header(h):
        stash["h"] = h

    def entries(e):
        edit(stash["h"], e)

    _rewrite(path, header=header, entries=entries)
    assert re.search(pattern, _message(path))


def test_metadata_entry_that_is_not_json(saved):
    _, path = saved
    entries, _ = _entries(path)
    for bad in (b"\xff\xfe", b"[1, 2]", b'{"format": NaN}'):
        np.savez(path, metadata=np.frombuffer(bad, dtype=np.uint8), **entries)
        assert re.search(r"not UTF-8 JSON|must hold a JSON object", _message(path))
    np.savez(path, metadata=np.zeros(3), **entries)
    assert "must be a 1-D uint8 array" in _message(path)


# -------------------------------------------------------------- atomic write
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_keeps_the_previous_file(tmp_path, error):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"previous contents")

    def write(f):
        f.write(b"half of a new file")
        raise error("interrupted")

    with pytest.raises(error):
        atomic_write(path, write)
    assert path.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no temporary file left


def test_interrupted_save_keeps_the_previous_model(saved, monkeypatch):
    net, path = saved
    before = path.read_bytes()
    real_savez = np.savez

    def savez_then_crash(file, *args, **kwds):
        real_savez(file, *args, **kwds)
        file.truncate(file.tell() // 2)  # half of the archive is on disk ...
        raise OSError("no space left on device")  # ... when the write fails

    monkeypatch.setattr(np, "savez", savez_then_crash)
    with pytest.raises(OSError, match="no space left"):
        save(_net(seed=5), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]
    _assert_same_network(load(path), net)


def test_atomic_write_replaces_and_syncs_before_renaming(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    assert atomic_write(str(path), lambda f: f.write(b"new")) == path
    assert path.read_bytes() == b"new"
    assert events[:2] == ["fsync", "replace"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "f", lambda f: f.write(b"x"))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_missing_directory_is_not_created(tmp_path):
    target = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(FileNotFoundError, match=r"the directory '.*no/such' does not exist; create it first"):
        save(_net(), target)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(target, lambda f: f.write(b"x"))
    assert not (tmp_path / "no").exists()


def test_directory_as_target(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        save(_net(), tmp_path)
    assert list(tmp_path.iterdir()) == []
