"""Atomic file writes, for model files and reports: a file is replaced whole or not at all.

:func:`atomic_write` fills a temporary file beside the target, flushes and fsyncs
it, renames it over the target with ``os.replace`` and then fsyncs the directory,
so that a crash leaves either the previous file or the new one, never half of one;
:func:`as_path` is the check of a ``path`` argument shared by every function that
takes one.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

PathLike = str | os.PathLike[str]


def as_path(path: Any) -> Path:
    """``path`` as a :class:`pathlib.Path`, or a TypeError naming the parameter."""
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
    path = as_path(path)
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
        except OSError as error:  # name the file the caller asked for, not the temporary one
            raise OSError(error.errno, error.strerror, str(path)) from None
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
