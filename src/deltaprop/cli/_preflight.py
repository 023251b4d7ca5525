"""Pre-flight: every output location of a command checked before any work starts.

A command that trains for an hour and then cannot write its model file has lost the
hour; one that writes its model over the data it read has lost the data.  So every
command hands its outputs (and its inputs) to :func:`check_outputs` first, and each
output must be

- a location that can be written: its nearest existing folder is a folder (not a file
  standing where a folder is meant) in which a file can be created;
- of the kind meant: a file is not an existing folder, a folder is not an existing file;
- none of the command's input files, and no other output of the same command;
- new, unless replacing it is the command's documented behaviour: model files,
  checkpoints, reports, predictions, metrics and figures are replaced (a model file or
  checkpoint only if the file there is a model file); ``deltaprop datasets`` and a file
  that is not what the command writes need ``--force``.

The messages name the option as the user typed it and the path as given.  Nothing is
created here: the folders of an output are made when it is written, after the work.

:func:`check_memory` refuses, up front, work whose arrays cannot fit in the memory of
the machine, naming the estimated size.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from deltaprop.cli._errors import UserError

_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Output:
    """One output location of a command.

    ``kind`` is "file", "model" (a model file or checkpoint: an existing file there must
    be a model file, or ``--force``), or "folder".  ``replace`` says whether an existing
    file is replaced as documented; if False, it needs ``--force``.
    """

    path: Path | None
    option: str
    kind: str = "file"
    replace: bool = True


class _Given(NamedTuple):
    """An :class:`Output` whose option was given."""

    path: Path
    option: str
    kind: str
    replace: bool


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file (also through links and relative spellings)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or its nearest ancestor that exists (as anything)."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _can_create_in(folder: Path) -> str | None:
    """None if a file can be created in ``folder``, else why not."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def _where(output: _Given) -> str:
    return f"{output.option} '{output.path}'"


def _check_location(output: _Given) -> None:
    """The location checks of one output (kind, the folders above it, writability)."""
    path = output.path
    if output.kind == "folder":
        if path.exists() and not path.is_dir():
            raise UserError(f"{_where(output)} is a file, not a folder; name a folder for it.")
        start = path if path.is_dir() else path.parent
    else:
        if path.is_dir():
            raise UserError(f"{_where(output)} is a folder; name a file (such as '{path / 'out'}').")
        start = path.parent
    existing = _nearest_existing(start)
    if not existing.is_dir():
        raise UserError(
            f"{_where(output)} cannot be written: '{existing}' is a file, so it cannot hold a folder "
            "or a file; choose another location."
        )
    why = _can_create_in(existing)
    if why is not None:
        raise UserError(f"{_where(output)} cannot be written: {why} in the folder '{existing}'.")
    if path.is_file() and not os.access(path, os.W_OK):
        raise UserError(f"{_where(output)} exists and cannot be replaced: it is not writable.")


def _is_model_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    except OSError:
        return False


def check_outputs(
    outputs: Iterable[Output], inputs: Sequence[Path | None] = (), *, force: bool = False
) -> None:
    """Refuse, before any work, an output that cannot or must not be written (see the module).

    ``outputs`` may hold entries whose path is None (an option not given): they are
    skipped.  ``inputs`` are the files the command reads; no output may be one of them.
    """
    given = [_Given(o.path, o.option, o.kind, o.replace) for o in outputs if o.path is not None]
    read = [p for p in inputs if p is not None]
    for i, output in enumerate(given):
        for source in read:
            if _same(output.path, source):
                raise UserError(
                    f"{_where(output)} is also an input of this command ('{source}'); writing it would "
                    "destroy what is read. Choose another file."
                )
        for other in given[:i]:
            if _same(output.path, other.path):
                raise UserError(
                    f"{_where(output)} and {_where(other)} name the same location; give them different ones."
                )
        _check_location(output)
        if force or not output.path.is_file():
            continue
        if not output.replace:
            raise UserError(f"{_where(output)} exists; pass --force to replace it.")
        if output.kind == "model" and not _is_model_file(output.path):
            raise UserError(
                f"{_where(output)} exists and is not a deltaprop model file; pass --force to replace it, "
                "or choose another name."
            )


# ------------------------------------------------------------------- memory
def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """A byte count as "1.5 GB" (powers of 1000)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def check_memory(needed: float, what: str, advice: str) -> None:
    """Refuse work estimated to need ``needed`` bytes when the machine has less available."""
    available = available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"{what} would need about {format_bytes(needed)} of memory, but {format_bytes(available)} "
            f"are available; {advice}."
        )


def parameter_count(sizes: Sequence[int]) -> int:
    """The number of weights and biases of a network with layer widths ``sizes``."""
    return sum(m * (p + 1) for p, m in itertools.pairwise(sizes))
