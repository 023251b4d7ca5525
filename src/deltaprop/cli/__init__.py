"""The ``deltaprop`` command line; ``deltaprop.cli:main`` is the console script.

The command line needs the ``cli`` extra (typer, rich, pandas, pyarrow, matplotlib,
scikit-learn).  A core-only install (``pip install deltaprop``) still ships the
``deltaprop`` command; without the extra, :func:`main` says which package is missing
and how to install it, in one line and with exit code 1, instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

# The packages of the ``cli`` extra that the command line imports when it starts.
CLI_PACKAGES = ("typer", "click", "rich", "pandas", "pyarrow", "matplotlib", "sklearn", "scipy")
_HINT = "pip install 'deltaprop[cli]'"


def main() -> None:
    """The console script's entry point: the command line, or one line naming the missing extra."""
    try:
        from deltaprop.cli._app import main as run
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in CLI_PACKAGES:
            raise
        sys.stderr.write(
            f"Error: the deltaprop command line needs the package {error.name!r}, which is not installed: "
            f"{_HINT}\n"
        )
        raise SystemExit(1) from None
    run()


def __getattr__(name: str) -> Any:
    if name == "app":  # the typer application, imported only when asked for
        from deltaprop.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
