"""Model files: a network saved safely, atomically and with a version.

A model file is a NumPy ``.npz`` archive (an uncompressed zip of ``.npy`` arrays)
with these entries:

    entry            contents                                        shape / dtype
    W1 .. WD         W^(h), as on the slides                         (M_h, M_{h-1}), the network's dtype
    b1 .. bD         b^(h)                                           (M_h,), the network's dtype
    extra/<name>     the caller's extra arrays                       any shape, numeric or bool
    metadata         UTF-8 JSON, stored as bytes                     (n_bytes,) uint8

The JSON holds ``format`` ("deltaprop-model"), ``format_version``,
``deltaprop_version``, ``sizes``, ``activations`` (one name per hidden layer),
``output``, ``dtype``, ``arrays`` (the extra arrays' names), ``user`` (the caller's
metadata) and ``sha256``: a digest of every entry's name, dtype, shape and bytes
and of the rest of the JSON, so that a changed number is detected even where the
zip's CRC-32 checks pass (an entry rewritten with a fresh CRC).  The digest guards
against corruption and accidental edits; it is not a signature.

Nothing in a model file is ever executed: the arrays are read with
``np.load(..., allow_pickle=False)`` after their ``.npy`` headers were checked,
activations and outputs are stored by name and looked up in deltaprop's registries,
so a user-defined :class:`~deltaprop.activations.Activation` cannot be saved.

Files are written by :func:`atomic_write`: into a temporary file in the same
directory, flushed and fsync'ed, then renamed over the target with ``os.replace``,
so a crash leaves either the previous file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_finite
from deltaprop._version import __version__
from deltaprop.activations import ACTIVATIONS, builtin_name
from deltaprop.losses import OUTPUTS, builtin_output_name
from deltaprop.modelfile._atomic import PathLike, as_path, atomic_write
from deltaprop.modelfile._read import (
    FORMAT,
    FORMAT_VERSION,
    METADATA,
    fail,
    read_entries,
    read_header,
)
from deltaprop.network import Network

EXTRA_PREFIX = "extra/"
_EXTRA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


class ModelFile(NamedTuple):
    """What :func:`load_file` returns: the network, the caller's metadata and extra arrays."""

    network: Network
    metadata: dict[str, Any]
    arrays: dict[str, NDArray[Any]]


def _check_json(value: Any, where: str) -> None:
    """Raise unless ``value`` is made of what JSON stores exactly (finite floats, str keys)."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"{where} is {value!r}, which JSON cannot store; use None or a string such as 'nan' instead."
            )
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{where} has the key {key!r} of type {type(key).__name__}; JSON keys must be str."
                )
            _check_json(item, f"{where}[{key!r}]")
        return
    hint = (
        " (use .item() or .tolist() for NumPy values)" if isinstance(value, (np.generic, np.ndarray)) else ""
    )
    raise TypeError(
        f"{where} is a {type(value).__name__}, which JSON cannot store; metadata may hold only None, "
        f"bool, int, finite float, str, lists and dicts with str keys{hint}. Put arrays in 'arrays'."
    )


def _check_arrays(arrays: Mapping[str, Any] | None) -> dict[str, NDArray[Any]]:
    if arrays is None:
        return {}
    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"The 'arrays' parameter must be a dict of name -> array. Got {type(arrays).__name__} instead."
        )
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _EXTRA_NAME.match(name):
            raise ValueError(
                f"arrays has the name {name!r}; names must be non-empty strings of letters, digits, "
                "'_', '.' and '-' that do not start with '.' or '-'."
            )
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufc":
            raise TypeError(
                f"arrays[{name!r}] has dtype {arr.dtype}; a model file stores numeric or bool arrays only "
                "(Python objects would need pickle, which is never used). Put text in 'metadata'."
            )
        checked[name] = arr
    return checked


def _digest(entries: Mapping[str, NDArray[Any]], header: Mapping[str, Any]) -> str:
    """SHA-256 over every entry (name, dtype, shape, bytes) and the header without its digest."""
    h = hashlib.sha256()

    def feed(piece: bytes) -> None:
        h.update(len(piece).to_bytes(8, "little"))  # length-prefixed: no two inputs collide by framing
        h.update(piece)

    for name in sorted(entries):
        arr = entries[name]
        feed(name.encode())
        feed(arr.dtype.str.encode())
        feed(repr(tuple(int(n) for n in arr.shape)).encode())
        feed(arr.tobytes(order="C"))
    rest = {key: value for key, value in header.items() if key != "sha256"}
    feed(json.dumps(rest, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
    return h.hexdigest()


def _layer_names(net: Network) -> tuple[list[str], str]:
    """The registry names of the hidden activations and the output, or a ValueError."""
    names = []
    for h, act in enumerate(net.activations, start=1):
        if builtin_name(act) is None:
            raise ValueError(
                f"Hidden layer {h} uses the user-defined activation {act.name!r}, which a model file "
                f"cannot store (it would have to store code). Use one of {sorted(ACTIVATIONS)}, or save "
                "net.W and net.b yourself."
            )
        names.append(act.name)
    if builtin_output_name(net.output) is None:
        raise ValueError(
            f"The network's output {net.output.name!r} is user-defined and a model file cannot store it. "
            f"Use one of {sorted(OUTPUTS)}."
        )
    return names, net.output.name


def save(
    net: Network,
    path: PathLike,
    *,
    metadata: dict[str, Any] | None = None,
    arrays: Mapping[str, Any] | None = None,
) -> Path:
    """Save a network, and optionally metadata and extra arrays, to a model file.

    Parameters
    ----------
    net : Network
        The network; its activations and output must be deltaprop's built-in ones.
    path : str or pathlib.Path
        The file, written atomically and exactly at this path (``.npz`` is the
        conventional suffix; none is added).  Its directory must exist.
    metadata : dict, optional
        JSON data stored with the network: None, bool, int, finite float, str,
        lists (tuples come back as lists) and dicts with str keys.
    arrays : dict of str to array, optional
        Extra numeric or bool arrays (labels, scaler statistics, ...), returned by
        :func:`load_file` with their dtype and shape.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        For a metadata value JSON cannot store (the message names its key) or an
        array of a non-numeric dtype.
    ValueError
        For a user-defined activation or output, non-finite parameters, NaN or
        infinite metadata floats, or an invalid array name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from deltaprop.network import Network
    >>> net = Network([2, 3, 1], activation="tanh", output="identity", random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     saved = save(net, Path(tmp) / "net.npz", metadata={"epochs": 10})
    ...     loaded = load_file(saved)
    >>> loaded.metadata
    {'epochs': 10}
    >>> all((w == v).all() for w, v in zip(net.W, loaded.network.W))
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"The 'net' parameter must be a Network. Got {type(net).__name__} instead.")
    path = as_path(path)
    activations, output = _layer_names(net)
    user = {} if metadata is None else metadata
    if not isinstance(user, dict):
        raise TypeError(f"The 'metadata' parameter must be a dict. Got {type(user).__name__} instead.")
    _check_json(user, "metadata")
    extras = _check_arrays(arrays)

    entries: dict[str, NDArray[Any]] = {}
    for h in range(1, net.D + 1):
        check_finite(net.W[h - 1], f"W^({h})")
        check_finite(net.b[h - 1], f"b^({h})")
        entries[f"W{h}"] = np.asarray(net.W[h - 1], dtype=net.dtype)
        entries[f"b{h}"] = np.asarray(net.b[h - 1], dtype=net.dtype)
    for name, arr in extras.items():
        entries[EXTRA_PREFIX + name] = arr
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "deltaprop_version": __version__,
        "sizes": net.sizes,
        "activations": activations,
        "output": output,
        "dtype": net.dtype.name,
        "arrays": sorted(extras),
        "user": user,
    }
    header["sha256"] = _digest(entries, header)
    text = json.dumps(header, sort_keys=True, indent=1, allow_nan=False)
    entries[METADATA] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    def write(f: BinaryIO) -> None:
        np.savez(f, allow_pickle=False, **entries)

    return atomic_write(path, write)


def load_file(path: PathLike) -> ModelFile:
    """Load a model file: the network with the metadata and extra arrays saved with it.

    The file is checked before anything is built from it: that it is an intact
    zip (CRC-32 of every entry), that no entry is an object array (nothing is ever
    unpickled or executed), the format name and version, that every expected entry
    and no other is present, the SHA-256 digest, the shapes and dtypes against
    the recorded sizes, and that the activation and output names are known.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :func:`save`.

    Returns
    -------
    ModelFile
        ``network``, ``metadata`` (the dict given to :func:`save`) and ``arrays``
        (the extra arrays, by name).

    Raises
    ------
    ModelFileError
        For any problem; the message names the file and the problem.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from deltaprop.network import Network
    >>> net = Network([4, 3], output="softmax", random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = Path(tmp) / "net.npz"
    ...     _ = save(net, file, arrays={"classes": np.array([3, 5, 7])})
    ...     model = load_file(file)
    >>> model.arrays["classes"]
    array([3, 5, 7])
    """
    path = as_path(path)
    entries = read_entries(path)
    header = read_header(path, entries)
    D = len(header["sizes"]) - 1
    expected = {
        METADATA,
        *(f"W{h}" for h in range(1, D + 1)),
        *(f"b{h}" for h in range(1, D + 1)),
        *(EXTRA_PREFIX + name for name in header["arrays"]),
    }
    missing, unexpected = sorted(expected - entries.keys()), sorted(entries.keys() - expected)
    if missing:
        raise fail(path, f"the entries {missing} are missing.")
    if unexpected:
        raise fail(path, f"it has the unexpected entries {unexpected}.")
    arrays = {name: arr for name, arr in entries.items() if name != METADATA}
    if _digest(arrays, header) != header["sha256"]:
        raise fail(
            path,
            "its SHA-256 digest does not match its contents: the file was modified or corrupted.",
        )

    dtype = header["dtype"]
    if dtype not in ("float32", "float64"):
        raise fail(path, f"its dtype {dtype!r} is not 'float32' or 'float64'.")
    sizes = header["sizes"]
    W, b = [], []
    for h in range(1, D + 1):
        w, v = entries[f"W{h}"], entries[f"b{h}"]
        if w.shape != (sizes[h], sizes[h - 1]) or v.shape != (sizes[h],):
            raise fail(
                path,
                f"W{h} has shape {w.shape} and b{h} shape {v.shape}, but sizes {sizes} require "
                f"{(sizes[h], sizes[h - 1])} and {(sizes[h],)}.",
            )
        if w.dtype != np.dtype(dtype) or v.dtype != np.dtype(dtype):
            raise fail(path, f"W{h} and b{h} have dtypes {w.dtype} and {v.dtype}, not {dtype}.")
        W.append(w)
        b.append(v)
    acts, output = header["activations"], header["output"]
    if len(acts) != D - 1:
        raise fail(path, f"it lists {len(acts)} activations for {D - 1} hidden layers.")
    for name in acts:
        if name not in ACTIVATIONS:
            raise fail(path, f"its activation {name!r} is unknown; known are {sorted(ACTIVATIONS)}.")
    if output not in OUTPUTS:
        raise fail(path, f"its output {output!r} is unknown; known are {sorted(OUTPUTS)}.")
    extras = {}
    for name in header["arrays"]:
        arr = entries[EXTRA_PREFIX + name]
        if arr.dtype.kind not in "biufc":
            raise fail(path, f"the extra array {name!r} has dtype {arr.dtype}, not a numeric one.")
        extras[name] = arr
    try:
        net = Network.from_weights(W, b, [ACTIVATIONS[a] for a in acts], OUTPUTS[output], dtype=dtype)
    except ValueError as exc:  # NaN or infinite parameters
        raise fail(path, str(exc)) from exc
    return ModelFile(net, header["user"], extras)


def load(path: PathLike) -> Network:
    """Load the network of a model file; see :func:`load_file` for what is checked.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from deltaprop.network import Network
    >>> net = Network([2, 4, 2], activation="relu", random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     same = load(save(net, Path(tmp) / "net.npz"))
    >>> X = np.ones((3, 2))
    >>> bool((same.predict(X) == net.predict(X)).all())
    True
    """
    return load_file(path).network
