"""What :func:`deltaprop.fit` records, epoch by epoch, and how it is stored as JSON.

One codec serves every file that keeps a History (checkpoints, the CLI's model files):
:meth:`History.to_json` and :meth:`History.from_json`.
"""

from __future__ import annotations

import math
from typing import Any


class History:
    """What :func:`fit` records, one entry per epoch.

    Attributes
    ----------
    loss : list of float
        Training loss L_S + lambda/2 ||w||^2, the (weighted) mean of the epoch's batch losses.
    val_loss, val_score : list of float
        Validation loss and score (accuracy for softmax/sigmoid outputs, R^2 for identity);
        empty without validation data.  The validation loss includes the same penalty
        lambda/2 ||w||^2 as the training loss, so that the two curves compare.
    lr : list of float
        Learning rate at the epoch's last step (NaN for a custom optimiser).
    grad_norms : list of list of float
        Per epoch, per layer h = 1..D: the mean of ||dL/dW^(h)|| over the epoch's batches that ran.
    best_epoch : int or None
        0-based epoch of the best monitored value, when a stopping rule is active.
    stop_reason : str
        "max_epochs", "no_improvement", "callback" or "interrupted".
    steps : int
        Parameter updates made so far.
    """

    # A plain class, not a dataclass: a dataclass writes and compiles its methods at
    # import (1.5 ms), which a small fit such as the lecture's two moons would notice.
    _FIELDS = ("loss", "val_loss", "val_score", "lr", "grad_norms", "best_epoch", "stop_reason", "steps")

    def __init__(
        self,
        loss: list[float] | None = None,
        val_loss: list[float] | None = None,
        val_score: list[float] | None = None,
        lr: list[float] | None = None,
        grad_norms: list[list[float]] | None = None,
        best_epoch: int | None = None,
        stop_reason: str = "max_epochs",
        steps: int = 0,
    ) -> None:
        self.loss: list[float] = [] if loss is None else loss
        self.val_loss: list[float] = [] if val_loss is None else val_loss
        self.val_score: list[float] = [] if val_score is None else val_score
        self.lr: list[float] = [] if lr is None else lr
        self.grad_norms: list[list[float]] = [] if grad_norms is None else grad_norms
        self.best_epoch = best_epoch
        self.stop_reason = stop_reason
        self.steps = steps

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"History({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable: no hash, as a list

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """The History as JSON-ready data; NaN and infinities are stored as "nan", "inf", "-inf".

        JSON has no non-finite numbers, and a diverging or unvalidated run records them;
        :meth:`from_json` reads them back exactly.

        >>> h = History(loss=[0.5, float("inf")], grad_norms=[[1.0], [float("nan")]])
        >>> h.to_json()["loss"]
        [0.5, 'inf']
        >>> back = History.from_json(h.to_json())
        >>> back.loss, back.grad_norms
        ([0.5, inf], [[1.0], [nan]])
        """
        stored: dict[str, Any] = {name: [_encode(v) for v in getattr(self, name)] for name in _LISTS}
        stored["grad_norms"] = [[_encode(v) for v in row] for row in self.grad_norms]
        stored.update(best_epoch=self.best_epoch, stop_reason=self.stop_reason, steps=self.steps)
        return stored

    @classmethod
    def from_json(cls, stored: Any) -> History:
        """The History that :meth:`to_json` stored (None, as older files wrote, reads as NaN).

        Raises
        ------
        ValueError
            When ``stored`` is not such data; the message names the field.
        """
        if not isinstance(stored, dict):
            raise ValueError(f"A stored History must be a JSON object; got {type(stored).__name__}.")
        history = cls()
        for name in _LISTS:
            setattr(history, name, [_decode(v, name) for v in _list(stored.get(name, []), name)])
        history.grad_norms = [
            [_decode(v, "grad_norms") for v in _list(row, "grad_norms")]
            for row in _list(stored.get("grad_norms", []), "grad_norms")
        ]
        best = stored.get("best_epoch")
        if best is not None and (isinstance(best, bool) or not isinstance(best, int)):
            raise ValueError(f"The stored History's best_epoch must be an integer or null; got {best!r}.")
        history.best_epoch = best
        history.stop_reason = str(stored.get("stop_reason", "max_epochs"))
        steps = stored.get("steps", 0)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"The stored History's steps must be a non-negative integer; got {steps!r}.")
        history.steps = steps
        return history


# The per-epoch lists of floats; grad_norms is a list of lists.
_LISTS = ("loss", "val_loss", "val_score", "lr")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode(value: float) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else str(value)


def _decode(value: Any, name: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"The stored History's {name} holds {value!r}, which is not a number.")
    return float(value)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"The stored History's {name} must be a list; got {type(value).__name__}.")
    return value
