"""How a command of the ``deltaprop`` command line ends when something is wrong.

A **user error** ends with one red line "Error: ..." on standard error and exit code 1.
User errors are exactly these:

- :class:`UserError`, which the command line raises for what it checks itself (an option's
  value, a column name, a data file's name) and for the library's own ``ValueError`` or
  ``TypeError`` at the one call that handed it the user's input (:func:`user_input`);
- :class:`~deltaprop.modelfile.ModelFileError` (a model file or checkpoint that cannot be
  read), :class:`~deltaprop.preprocessing.DataError` (a data file's columns or values that
  the preprocessing cannot use, wherever it is found) and
  :class:`~deltaprop.train.DivergenceError` (a training that diverged);
- a file-system error (an :class:`OSError`: no such file, permission denied, a directory
  where a file is meant, ...), shown with its path;
- a missing optional extra: an :class:`ImportError` of deltaprop's that names
  ``pip install 'deltaprop[...]'``.

Anything else is a bug in deltaprop, not in what the user asked for: the command prints
its traceback and a line on how to report it, and exits with code 1.  Ctrl-C ends any
command with "Interrupted." and exit code 130 (``deltaprop train`` saves the weights
first; see :data:`EXIT_CODES`).  A warning is one
yellow line "Warning: ..." (a value not seen at training, every time it occurs).
``deltaprop --debug`` (:func:`set_debug`) lets every error through with its traceback.
"""

from __future__ import annotations

import functools
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from deltaprop.modelfile import ModelFileError
from deltaprop.preprocessing import DataError
from deltaprop.train import DivergenceError

F = TypeVar("F", bound=Callable[..., Any])

_state = {"debug": False}

# How deltaprop's ImportError for an optional dependency reads: "... pip install 'deltaprop[cli]'".
_EXTRA = "pip install 'deltaprop["

BUG_HINT = (
    "This is a bug in deltaprop, not a mistake in the command. Please report it with the command "
    "you ran, the traceback above and the output of 'deltaprop --version'."
)


# What a script can rely on; docs/cli.md has the same table.
EXIT_CODES = {
    0: "finished",
    1: "a user error (one line 'Error: ...' on standard error), or a bug (with its traceback)",
    2: "a usage error: an unknown option, a missing argument, a value of the wrong type",
    130: "interrupted by Ctrl-C (deltaprop train saved the weights so far)",
}
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake in what the user asked for; the command line prints the message and exits with 1."""


def set_debug(debug: bool) -> None:
    """--debug: show an error's traceback instead of its one line."""
    _state["debug"] = debug


@contextmanager
def user_input(options: str = "") -> Iterator[None]:
    """Turn the library's ValueError/TypeError about the user's input into a UserError.

    Wrap one call that hands the user's input to the library: an option's value, or the
    rows of a data file.  ``options`` names the options the call was given (such as
    "--hidden, --activation") and starts the message; errors about data name their
    column themselves.  Anywhere else, a ValueError is a bug and keeps its traceback.
    """
    try:
        yield
    except (ValueError, TypeError) as error:
        raise UserError(f"{options}: {error}" if options else str(error)) from error


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _file_system(error: OSError) -> str:
    """An OSError as "what went wrong: 'path'" (the path is what the user can act on)."""
    paths = " -> ".join(repr(str(p)) for p in (error.filename, error.filename2) if p is not None)
    what = error.strerror or _one_line(error)
    return f"{what}: {paths}" if paths else what


def user_error_message(error: BaseException) -> str | None:
    """The one line that a user error ends with; None for anything else (a bug)."""
    if isinstance(error, (UserError, ModelFileError, DataError, DivergenceError)):
        return _one_line(error)
    if isinstance(error, ImportError) and (error.name or "").split(".")[0] == "matplotlib":
        return "Figures need matplotlib: pip install 'deltaprop[plots]'."
    if isinstance(error, OSError):
        return _file_system(error)
    if isinstance(error, ImportError) and _EXTRA in str(error):
        return _one_line(error)
    return None


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    Console(stderr=True).print(Text(f"Warning: {_one_line(message)}", style="yellow"), soft_wrap=True)


def one_line_errors(fn: F) -> F:
    """Run a command: a user error becomes one red line and exit code 1, a bug shows its traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from deltaprop.preprocessing import IdentifierColumnWarning, UnseenCategoryWarning

        with warnings.catch_warnings():
            warnings.simplefilter("always", UnseenCategoryWarning)
            warnings.simplefilter("always", IdentifierColumnWarning)
            warnings.showwarning = _show_warning
            try:
                return fn(*args, **kwargs)
            except (typer.Exit, typer.Abort, typer.BadParameter):
                raise
            except KeyboardInterrupt:
                Console(stderr=True).print(Text("Interrupted.", style="yellow"))
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except Exception as error:
                if _state["debug"]:
                    raise
                console = Console(stderr=True)
                message = user_error_message(error)
                if message is None:
                    console.file.write("".join(traceback.format_exception(error)))
                    console.print(Text(BUG_HINT, style="bold red"), soft_wrap=True)
                else:
                    console.print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)
                raise typer.Exit(1) from None

    return run  # type: ignore[return-value]
