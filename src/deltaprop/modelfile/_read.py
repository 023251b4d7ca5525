"""Reading a model file without trusting it: the format's names, the archive's checks, the header.

:func:`read_entries` returns every array of an ``.npz`` after checking that it is
an intact zip of ``.npy`` entries none of which is an object array (so nothing is
ever unpickled), and that nothing in it can make the reader use more memory or time
than the file's size justifies (:func:`_check_archive`, before anything is
decompressed), and :func:`read_header` parses and checks the JSON header; both
raise :class:`ModelFileError` naming the file and the problem.  What the entries
must then hold is checked by :func:`deltaprop.modelfile.load_file`.
"""

from __future__ import annotations

import json
import math
import re
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
# Bounds checked against the zip's central directory before any entry is decompressed.
# deltaprop writes entries uncompressed; a DEFLATE entry of real weights shrinks by a few
# percent, of constant data by up to ~1000x.  A file may declare at most _MAX_RATIO times
# its own size in all, so a 2 MB file cannot make the reader allocate 2 GB.
_MAX_RATIO = 100
_MAX_ENTRIES = 10_000
_ENTRY_NAME = re.compile(r"(?:extra/)?[A-Za-z0-9_][A-Za-z0-9_.\-]*\.npy\Z")
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


def _npy_header(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, name: str
) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """The shape, dtype and data offset in the ``.npy`` header of one entry (only the header is read)."""
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
        return shape, dtype, f.tell()


def _check_npy_headers(zf: zipfile.ZipFile, path: Path) -> None:
    """Refuse object arrays and entries whose header claims more data than they hold."""
    for info in zf.infolist():
        name = info.filename.removesuffix(".npy")
        try:
            shape, dtype, offset = _npy_header(zf, info, path, name)
        except zipfile.BadZipFile as exc:  # a small entry is read whole with its header: its CRC fails here
            raise fail(
                path, f"the entry {info.filename!r} is corrupted (its CRC-32 check or its zip header failed)."
            ) from exc
        if dtype.hasobject:
            raise fail(
                path,
                f"entry {name!r} is an array of Python objects (stored as a pickle); model files hold "
                "numeric arrays only and are never unpickled.",
            )
        if math.prod(shape) * dtype.itemsize != info.file_size - offset:
            raise fail(path, f"entry {name!r} holds fewer or more bytes than its shape {shape} needs.")


def _check_archive(zf: zipfile.ZipFile, path: Path, archive_bytes: int) -> None:
    """Refuse, from the central directory alone, entries that are unsafe or larger than the file allows.

    Names must be plain ``.npy`` names (no folders but ``extra/``, no ``..``, no
    duplicates); compression must be none or DEFLATE, not encrypted; each entry's
    compressed size must fit in the file, its declared size must match a stored
    entry's or stay within ``_MAX_RATIO`` of a compressed one's, and all declared
    sizes together within ``_MAX_RATIO`` times the file's size; the metadata entry
    within ``_MAX_METADATA_BYTES``.
    """
    infos = zf.infolist()
    if len(infos) > _MAX_ENTRIES:
        raise fail(path, f"it has {len(infos)} entries; a model file has a few (at most {_MAX_ENTRIES}).")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if not _ENTRY_NAME.match(name) or ".." in name:
            raise fail(
                path, f"it contains the entry {name!r}, which is not the name of a model file's array."
            )
        if name in seen:
            raise fail(path, f"it contains the entry {name!r} twice.")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise fail(path, f"the entry {name!r} is encrypted; model files are not.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise fail(
                path,
                f"the entry {name!r} uses compression method {info.compress_type}; model files use none "
                "(or DEFLATE).",
            )
        if info.compress_size > archive_bytes:
            raise fail(
                path, f"the entry {name!r} is corrupted: it claims more compressed bytes than the file holds."
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise fail(
                path,
                f"the entry {name!r} is corrupted: stored uncompressed, it declares two different sizes.",
            )
        if info.file_size > _MAX_RATIO * max(info.compress_size, 1):
            raise fail(
                path,
                f"the entry {name!r} declares {info.file_size:,} bytes from {info.compress_size:,} "
                f"compressed ones (more than {_MAX_RATIO}x): refused before decompressing it.",
            )
        if name == METADATA + ".npy" and info.file_size > _MAX_METADATA_BYTES + 4096:
            raise fail(
                path, f"its metadata declares {info.file_size:,} bytes (at most {_MAX_METADATA_BYTES:,})."
            )
        total += info.file_size
    if total > _MAX_RATIO * max(archive_bytes, 1):
        raise fail(
            path,
            f"its entries declare {total:,} bytes in all, more than {_MAX_RATIO}x the file's "
            f"{archive_bytes:,}: refused before decompressing them.",
        )


def read_entries(path: Path) -> dict[str, NDArray[Any]]:
    """Every entry of the .npz at ``path``, checked for zip damage and pickles first."""
    try:
        with path.open("rb") as f:
            magic = f.read(len(_ZIP_MAGIC))
        archive_bytes = path.stat().st_size
    except FileNotFoundError:
        raise fail(path, "there is no such file.") from None
    except OSError as exc:
        raise fail(path, f"it cannot be read ({exc.strerror or exc}).") from exc
    if magic != _ZIP_MAGIC:
        raise fail(path, "it is not a NumPy .npz (zip) archive, so it is not a deltaprop model file.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = [info.filename for info in zf.infolist()]
            for name in names:
                if not name.endswith(".npy"):
                    raise fail(path, f"it contains {name!r}, which is not a .npy array.")
            _check_archive(zf, path, archive_bytes)
            _check_npy_headers(zf, path)  # reads each entry's header only
            bad = zf.testzip()  # decompresses everything, now that its size is bounded
            if bad is not None:
                raise fail(
                    path, f"the entry {bad!r} is corrupted (its CRC-32 check or its zip header failed)."
                )
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
