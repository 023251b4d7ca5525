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

import errno
import hashlib
import json
import math
import os
import re
import secrets
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numpy.typing import NDArray

from deltaprop._checks import check_finite
from deltaprop.activations import ACTIVATIONS
from deltaprop.losses import OUTPUTS
from deltaprop.network import Network

FORMAT = "deltaprop-model"
FORMAT_VERSION = 1

EXTRA_PREFIX = "extra/"
METADATA = "metadata"
_EXTRA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_METADATA_BYTES = 16 * 2**20
_HEADER_KEYS = (
    "format",
    "format_version",
    "deltaprop_version",
    "sizes",
    "activations",
    "output",
    "dtype",
    "arrays",
    "user",
    "sha256",
)
# Everything a damaged zip can make zipfile / NumPy raise while reading it.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    NotImplementedError,  # an unknown compression method
    RuntimeError,  # an entry marked as encrypted
)

PathLike = str | os.PathLike[str]


class ModelFileError(ValueError):
    """A file that is not a valid deltaprop model file; the message names the file and the problem."""


class ModelFile(NamedTuple):
    """What :func:`load_file` returns: the network, the caller's metadata and extra arrays."""

    network: Network
    metadata: dict[str, Any]
    arrays: dict[str, NDArray[Any]]


# ------------------------------------------------------------------ writing
def _as_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"The 'path' parameter must be a str or a pathlib.Path. Got {type(path).__name__} instead."
        )
    return Path(path)


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file so that it is replaced whole or not at all.

    ``write(f)`` fills a temporary file in the same directory as ``path``; the file
    is flushed, fsync'ed and renamed over ``path`` with ``os.replace`` (atomic on
    POSIX and Windows).  If anything fails or is interrupted, the temporary file is
    removed and a previous file at ``path`` is left untouched.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write.  Its directory must exist; none is created.
    write : callable
        ``write(f)`` writes the contents to the binary file object ``f``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileNotFoundError
        If the directory of ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a directory.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = atomic_write(Path(tmp) / "notes.txt", lambda f: f.write(b"hello"))
    ...     target.read_bytes()
    b'hello'
    """
    path = _as_path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"Cannot write {str(path)!r}: the directory {str(directory)!r} does not exist; "
            "create it first (nothing creates directories for you)",
        )
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"Cannot write {str(path)!r}: it is a directory")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(temp, flags, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    return path


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        if ACTIVATIONS.get(act.name) != act:
            raise ValueError(
                f"Hidden layer {h} uses the user-defined activation {act.name!r}, which a model file "
                f"cannot store (it would have to store code). Use one of {sorted(ACTIVATIONS)}, or save "
                "net.W and net.b yourself."
            )
        names.append(act.name)
    if OUTPUTS.get(net.output.name) != net.output:
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
    path = _as_path(path)
    activations, output = _layer_names(net)
    user = {} if metadata is None else metadata
    if not isinstance(user, dict):
        raise TypeError(f"The 'metadata' parameter must be a dict. Got {type(user).__name__} instead.")
    _check_json(user, "metadata")
    extras = _check_arrays(arrays)

    from deltaprop import __version__  # here, not at the top: deltaprop/__init__ may import this module

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


# ------------------------------------------------------------------ reading
def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"Cannot load the model file {str(path)!r}: {problem}")


def _check_npy_headers(zf: zipfile.ZipFile, path: Path) -> None:
    """Refuse object arrays and entries whose header claims more data than they hold."""
    for info in zf.infolist():
        name = info.filename.removesuffix(".npy")
        with zf.open(info) as f:
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
            except ValueError as exc:
                raise _fail(path, f"entry {name!r} is not a valid .npy array ({exc}).") from exc
            offset = f.tell()
        if dtype.hasobject:
            raise _fail(
                path,
                f"entry {name!r} is an array of Python objects (stored as a pickle); model files hold "
                "numeric arrays only and are never unpickled.",
            )
        if math.prod(shape) * dtype.itemsize != info.file_size - offset:
            raise _fail(path, f"entry {name!r} holds fewer or more bytes than its shape {shape} needs.")


def _read_entries(path: Path) -> dict[str, NDArray[Any]]:
    """Every entry of the .npz at ``path``, checked for zip damage and pickles first."""
    try:
        with path.open("rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
    except FileNotFoundError:
        raise _fail(path, "there is no such file.") from None
    except OSError as exc:
        raise _fail(path, f"it cannot be read ({exc.strerror or exc}).") from exc
    if magic != _ZIP_MAGIC:
        raise _fail(path, "it is not a NumPy .npz (zip) archive, so it is not a deltaprop model file.")
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise _fail(
                    path, f"the entry {bad!r} is corrupted (its CRC-32 check or its zip header failed)."
                )
            names = [info.filename for info in zf.infolist()]
            for name in names:
                if not name.endswith(".npy"):
                    raise _fail(path, f"it contains {name!r}, which is not a .npy array.")
            _check_npy_headers(zf, path)
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise _fail(path, "it is not a NumPy .npz archive.")
            return {name: npz[name] for name in npz.files}
    except ModelFileError:
        raise
    except _READ_ERRORS as exc:
        raise _fail(
            path, f"it is truncated or corrupted, not a readable zip archive ({type(exc).__name__}: {exc})."
        ) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"the metadata JSON contains {name}, which is not valid JSON")


def _read_header(path: Path, entries: Mapping[str, NDArray[Any]]) -> dict[str, Any]:
    if METADATA not in entries:
        raise _fail(path, f"the entry {METADATA!r} is missing, so it is not a deltaprop model file.")
    raw = entries[METADATA]
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_METADATA_BYTES:
        raise _fail(path, f"the entry {METADATA!r} must be a 1-D uint8 array of UTF-8 JSON bytes.")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _fail(path, f"the entry {METADATA!r} is not UTF-8 JSON ({exc}).") from exc
    if not isinstance(header, dict):
        raise _fail(path, f"the entry {METADATA!r} must hold a JSON object.")
    if header.get("format") != FORMAT:
        raise _fail(path, f"its format is {header.get('format')!r}, not {FORMAT!r}.")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail(path, f"its format_version is {version!r}, not an integer.")
    if version != FORMAT_VERSION:
        written_by = header.get("deltaprop_version", "unknown")
        advice = "upgrade deltaprop" if version > FORMAT_VERSION else "save it again with that deltaprop"
        raise _fail(
            path,
            f"it was written by deltaprop {written_by} with format version {version}; this deltaprop "
            f"reads version {FORMAT_VERSION} ({advice}).",
        )
    missing = [key for key in _HEADER_KEYS if key not in header]
    if missing:
        raise _fail(path, f"its metadata lacks the keys {missing}.")
    sizes, acts, arrays = header["sizes"], header["activations"], header["arrays"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in sizes)
    ):
        raise _fail(path, f"its sizes {sizes!r} are not a list of at least two positive integers.")
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise _fail(path, f"its activations {acts!r} are not a list of names.")
    if not isinstance(arrays, list) or not all(isinstance(a, str) for a in arrays):
        raise _fail(path, f"its list of extra arrays {arrays!r} is not a list of names.")
    for key in ("output", "dtype", "sha256", "deltaprop_version"):
        if not isinstance(header[key], str):
            raise _fail(path, f"its {key} {header[key]!r} is not a string.")
    if not isinstance(header["user"], dict):
        raise _fail(path, "its user metadata is not a JSON object.")
    return header


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
    path = _as_path(path)
    entries = _read_entries(path)
    header = _read_header(path, entries)
    D = len(header["sizes"]) - 1
    expected = {
        METADATA,
        *(f"W{h}" for h in range(1, D + 1)),
        *(f"b{h}" for h in range(1, D + 1)),
        *(EXTRA_PREFIX + name for name in header["arrays"]),
    }
    missing, unexpected = sorted(expected - entries.keys()), sorted(entries.keys() - expected)
    if missing:
        raise _fail(path, f"the entries {missing} are missing.")
    if unexpected:
        raise _fail(path, f"it has the unexpected entries {unexpected}.")
    arrays = {name: arr for name, arr in entries.items() if name != METADATA}
    if _digest(arrays, header) != header["sha256"]:
        raise _fail(
            path,
            "its SHA-256 digest does not match its contents: the file was modified or corrupted.",
        )

    dtype = header["dtype"]
    if dtype not in ("float32", "float64"):
        raise _fail(path, f"its dtype {dtype!r} is not 'float32' or 'float64'.")
    sizes = header["sizes"]
    W, b = [], []
    for h in range(1, D + 1):
        w, v = entries[f"W{h}"], entries[f"b{h}"]
        if w.shape != (sizes[h], sizes[h - 1]) or v.shape != (sizes[h],):
            raise _fail(
                path,
                f"W{h} has shape {w.shape} and b{h} shape {v.shape}, but sizes {sizes} require "
                f"{(sizes[h], sizes[h - 1])} and {(sizes[h],)}.",
            )
        if w.dtype != np.dtype(dtype) or v.dtype != np.dtype(dtype):
            raise _fail(path, f"W{h} and b{h} have dtypes {w.dtype} and {v.dtype}, not {dtype}.")
        W.append(w)
        b.append(v)
    acts, output = header["activations"], header["output"]
    if len(acts) != D - 1:
        raise _fail(path, f"it lists {len(acts)} activations for {D - 1} hidden layers.")
    for name in acts:
        if name not in ACTIVATIONS:
            raise _fail(path, f"its activation {name!r} is unknown; known are {sorted(ACTIVATIONS)}.")
    if output not in OUTPUTS:
        raise _fail(path, f"its output {output!r} is unknown; known are {sorted(OUTPUTS)}.")
    extras = {}
    for name in header["arrays"]:
        arr = entries[EXTRA_PREFIX + name]
        if arr.dtype.kind not in "biufc":
            raise _fail(path, f"the extra array {name!r} has dtype {arr.dtype}, not a numeric one.")
        extras[name] = arr
    try:
        net = Network.from_weights(W, b, [ACTIVATIONS[a] for a in acts], OUTPUTS[output], dtype=dtype)
    except ValueError as exc:  # NaN or infinite parameters
        raise _fail(path, str(exc)) from exc
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
