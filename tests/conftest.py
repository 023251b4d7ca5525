"""Every test runs with floating-point errors raised: an overflow is a failure.

The ``cli`` fixture runs the ``deltaprop`` command line in-process, for the command-line tests.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from click.testing import Result


@pytest.fixture(autouse=True)
def _raise_on_float_errors() -> Iterator[None]:
    # Underflow to 0 is the correct result of e.g. exp(-1000), so it stays silent.
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


@pytest.fixture(scope="session")
def cli() -> Callable[..., "Result"]:
    """``cli(*args, input=None, env=None, catch_exceptions=True)``: run ``deltaprop ARGS`` in-process.

    Each argument is passed as ``str(arg)`` (paths and numbers are fine).  Standard error is kept
    apart from standard output (``result.stdout``, ``result.stderr``).  ``input`` is fed to standard
    input, ``env`` overrides environment variables for the run, and ``catch_exceptions=False`` lets an
    exception propagate instead of landing in ``result.exception``.  Session-scoped, so module-scoped
    fixtures and hypothesis tests can use it too; it holds no state between runs.
    """
    from typer.testing import CliRunner

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2 mixes standard error into the output by default
    except TypeError:
        runner = CliRunner()

    def invoke(
        *args: object,
        input: str | bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        catch_exceptions: bool = True,
    ) -> "Result":
        from deltaprop.cli import app

        return runner.invoke(
            app, [str(a) for a in args], input=input, env=env, catch_exceptions=catch_exceptions
        )

    return invoke
