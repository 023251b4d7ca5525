"""The compiled training engine: the lecture's step fused into numba loops around BLAS's products.

:class:`Engine` computes what the reference computes (``Network.forward``,
``Network.backward``, the optimiser's ``update`` and ``apply_updates``) for the
built-in activations, output units and optimisers (:func:`supports` says which), in
arrays allocated once: whole epochs in one compiled call for networks whose hidden
units need no transcendental function, compiled loops between NumPy's ufuncs for the
others.  The products are NumPy's own BLAS, called from the compiled code
(:mod:`deltaprop.engine._blas`); a batch of more than ``CHUNK_ROWS`` rows runs chunk by
chunk, in cache.  numba is imported when the first Engine is made, never by
``import deltaprop``.
"""

from deltaprop.engine._layout import FlatLayout, FlatState
from deltaprop.engine._step import Engine, EngineWorkspace, Run, fused, loaded, supports, threads_for

__all__ = [
    "Engine",
    "EngineWorkspace",
    "FlatLayout",
    "FlatState",
    "Run",
    "fused",
    "loaded",
    "supports",
    "threads_for",
]
