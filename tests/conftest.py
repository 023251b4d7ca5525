"""Every test runs with floating-point errors raised: an overflow is a failure."""

from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _raise_on_float_errors() -> Iterator[None]:
    # Underflow to 0 is the correct result of e.g. exp(-1000), so it stays silent.
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield
