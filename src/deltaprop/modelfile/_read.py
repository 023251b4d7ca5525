"""Reading a model file without trusting it: the format's names, the archive's checks, the header.

:func:`read_entries` returns every array of an ``.npz`` after checking that it is
an intact zip of ``.npy`` entries none of which is an object array (so nothing is
ever unpickled), and :func:`read_header` parses and checks the JSON header; both
raise :class:`ModelFileError` naming the file and the problem.  What the entries
must then hold is checked by :func:`deltaprop.modelfile.load_file`.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

FORMAT = "deltaprop-model"
FORMAT_VERSION = 1
METADATA = "metadata"
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


class ModelFileError(ValueError):
    """A file that is not a valid deltaprop model file; the message names the file and the problem."""


def fail(path: Path, problem: str) -> ModelFileError:
    """The ModelFileError for ``problem`` in the file at ``path``."""
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
                raise fail(path, f"entry {name!r} is not a valid .npy array ({exc}).") from exc
            offset = f.tell()
        if dtype.hasobject:
            raise fail(
                path,
                f"entry {name!r} is an array of Python objects (stored as a pickle); model files hold "
                "numeric arrays only and are never unpickled.",
            )
        if math.prod(shape) * dtype.itemsize != info.file_size - offset:
            raise fail(path, f"entry {name!r} holds fewer or more bytes than its shape {shape} needs.")


def read_entries(path: Path) -> dict[str, NDArray[Any]]:
    """Every entry of the .npz at ``path``, checked for zip damage and pickles first."""
    try:
        with path.open("rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
    except FileNotFoundError:
        raise fail(path, "there is no such file.") from None
    except OSError as exc:
        raise fail(path, f"it cannot be read ({exc.strerror or exc}).") from exc
    if magic != _ZIP_MAGIC:
        raise fail(path, "it is not a NumPy .npz (zip) archive, so it is not a deltaprop model file.")
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise fail(
                    path, f"the entry {bad!r} is corrupted (its CRC-32 check or its zip header failed)."
                )
            names = [info.filename for info in zf.infolist()]
            for name in names:
                if not name.endswith(".npy"):
                    raise fail(path, f"it contains {name!r}, which is not a .npy array.")
            _check_npy_headers(zf, path)
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise fail(path, "it is not a NumPy .npz archive.")
            return {name: npz[name] for name in npz.files}
    except ModelFileError:
        raise
    except _READ_ERRORS as exc:
        raise fail(
            path, f"it is truncated or corrupted, not a readable zip archive ({type(exc).__name__}: {exc})."
        ) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"the metadata JSON contains {name}, which is not valid JSON")


def read_header(path: Path, entries: Mapping[str, NDArray[Any]]) -> dict[str, Any]:
    if METADATA not in entries:
        raise fail(path, f"the entry {METADATA!r} is missing, so it is not a deltaprop model file.")
    raw = entries[METADATA]
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_METADATA_BYTES:
        raise fail(path, f"the entry {METADATA!r} must be a 1-D uint8 array of UTF-8 JSON bytes.")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise fail(path, f"the entry {METADATA!r} is not UTF-8 JSON ({exc}).") from exc
    if not isinstance(header, dict):
        raise fail(path, f"the entry {METADATA!r} must hold a JSON object.")
    if header.get("format") != FORMAT:
        raise fail(path, f"its format is {header.get('format')!r}, not {FORMAT!r}.")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail(path, f"its format_version is {version!r}, not an integer.")
    if version != FORMAT_VERSION:
        written_by = header.get("deltaprop_version", "unknown")
        advice = "upgrade deltaprop" if version > FORMAT_VERSION else "save it again with that deltaprop"
        raise fail(
            path,
            f"it was written by deltaprop {written_by} with format version {version}; this deltaprop "
            f"reads version {FORMAT_VERSION} ({advice}).",
        )
    missing = [key for key in _HEADER_KEYS if key not in header]
    if missing:
        raise fail(path, f"its metadata lacks the keys {missing}.")
    sizes, acts, arrays = header["sizes"], header["activations"], header["arrays"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in sizes)
    ):
        raise fail(path, f"its sizes {sizes!r} are not a list of at least two positive integers.")
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise fail(path, f"its activations {acts!r} are not a list of names.")
    if not isinstance(arrays, list) or not all(isinstance(a, str) for a in arrays):
        raise fail(path, f"its list of extra arrays {arrays!r} is not a list of names.")
    for key in ("output", "dtype", "sha256", "deltaprop_version"):
        if not isinstance(header[key], str):
            raise fail(path, f"its {key} {header[key]!r} is not a string.")
    if not isinstance(header["user"], dict):
        raise fail(path, "its user metadata is not a JSON object.")
    return header
