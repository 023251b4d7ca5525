"""The playground: the lecture's network live in the browser, trained by deltaprop itself.

``deltaprop playground`` serves a local page (:func:`serve`, :func:`create_app`) where a
network trains on a 2-D data set while the page draws its output, every unit, every
weight and the losses, and shows the backpropagation of one step on any point.  The
settings (:class:`Settings`) travel in the URL hash (:func:`to_hash`, :func:`from_hash`);
the data, network and training loop are the functions below, which the exported
snippet calls too.
"""

from typing import Any

from deltaprop._api import publish
from deltaprop.playground._data import (
    DOMAIN,
    PlaygroundData,
    features,
    l1_penalty,
    make_data,
    make_network,
    make_trainer,
    surface,
    train_epoch,
)
from deltaprop.playground._messages import MessageError, parse_message
from deltaprop.playground._session import Session
from deltaprop.playground._state import Settings, SettingsError, from_hash, to_hash, updated

__all__ = [
    "DOMAIN",
    "MessageError",
    "PlaygroundData",
    "Session",
    "Settings",
    "SettingsError",
    "create_app",
    "features",
    "from_hash",
    "l1_penalty",
    "make_data",
    "make_network",
    "make_trainer",
    "parse_message",
    "serve",
    "surface",
    "to_hash",
    "train_epoch",
    "updated",
]

publish(__name__, MessageError, PlaygroundData, Session, Settings, SettingsError)


def __getattr__(name: str) -> Any:
    # The server needs starlette and uvicorn (the "playground" extra); import it on first
    # use so that the data, network and training functions (and the exported snippet)
    # work without them.
    if name in ("create_app", "serve"):
        from deltaprop.playground import _server

        return getattr(_server, name)
    raise AttributeError(f"module 'deltaprop.playground' has no attribute {name!r}")
