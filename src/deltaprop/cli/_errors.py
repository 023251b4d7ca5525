"""How a command of the ``deltaprop`` command line ends when something is wrong: one line, exit code 1.

:func:`one_line_errors` wraps every command: a user error (a missing file, a bad option
value, a diverging training, a model file deltaprop cannot read, ...) is printed as one red
line "Error: ..." on standard error and ends the command with exit code 1, and a warning is
printed as one yellow line "Warning: ..." (a value not seen at training every time it
occurs).  ``deltaprop --debug`` (:func:`set_debug`) lets the errors through with their
traceback instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from deltaprop.modelfile import ModelFileError
from deltaprop.train import DivergenceError

F = TypeVar("F", bound=Callable[..., Any])

_state = {"debug": False}


class UserError(Exception):
    """A mistake in what the user asked for; the command line prints the message and exits with 1."""


def set_debug(debug: bool) -> None:
    """--debug: show an error's traceback instead of its one line."""
    _state["debug"] = debug


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    Console(stderr=True).print(Text(f"Warning: {_one_line(message)}", style="yellow"), soft_wrap=True)


def one_line_errors(fn: F) -> F:
    """Run a command: user errors become one red line on standard error and exit code 1."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from deltaprop.preprocessing import UnseenCategoryWarning

        with warnings.catch_warnings():
            warnings.simplefilter("always", UnseenCategoryWarning)
            warnings.showwarning = _show_warning
            try:
                return fn(*args, **kwargs)
            except (
                UserError,
                ModelFileError,
                DivergenceError,
                ValueError,
                TypeError,
                OSError,
                ImportError,
            ) as error:
                if _state["debug"]:
                    raise
                Console(stderr=True).print(
                    Text(f"Error: {_one_line(error)}", style="bold red"), soft_wrap=True
                )
                raise typer.Exit(1) from None

    return run  # type: ignore[return-value]
