"""The stopping rule: the best value so far, patience, and the best epoch's weights.

One object decides, epoch after epoch, "improved?", "patience used up?" and "which
weights were best?", for :func:`deltaprop.train.fit` (``early_stopping``) and for the
scikit-learn estimators' epoch rules alike; where the two conventions differ, a
parameter says how.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from deltaprop._types import Params
from deltaprop.network import Network


class StoppingRule:
    """Best value, no-improvement count and best weights of a monitored quantity.

    After every epoch, :meth:`update` is given the monitored value (a loss to
    minimise or, with ``maximize``, a score).  An epoch counts as an improvement when
    it beats the best value so far by more than ``tol``; otherwise the count of
    epochs without improvement grows, and :attr:`patience_used_up` says when it has
    reached ``patience``.  A value better than the best (by any amount) becomes the
    best, with its epoch and, with ``keep_best``, a copy of the network's weights that
    :meth:`restore` puts back.

    Parameters
    ----------
    maximize : bool, default False
        Whether larger values are better (a score) rather than smaller (a loss).
    tol : float, default 1e-4
        How much an epoch must beat the best value by to count as an improvement.
    patience : int or inf, default 10
        Epochs without improvement that use the patience up; ``math.inf`` never does.
    strict : bool, default True
        True: an improvement beats the best by *more* than ``tol`` (deltaprop's
        ``fit``).  False: by ``tol`` or more, scikit-learn's rule, where "no improvement"
        is ``value > best - tol`` for a loss and ``value < best + tol`` for a score
        (so a NaN counts as an improvement there, as it does in scikit-learn).
    keep_best : bool, default False
        Keep a copy of the weights at every new best, for :meth:`restore`.
    best : float, optional
        The best value so far when continuing earlier training; by default the worst
        possible (inf for a loss, -inf for a score).
    no_improvement : int, default 0
        Epochs without improvement so far, when continuing.
    best_epoch : int, optional
        The epoch of ``best``, when continuing.
    best_params : Params, optional
        The weights of ``best``, when continuing (kept, not copied).

    Attributes
    ----------
    best, no_improvement, best_epoch, best_params
        As above, updated by every :meth:`update`.

    Examples
    --------
    >>> rule = StoppingRule(tol=0.1, patience=2)
    >>> [rule.update(loss, epoch=t) for t, loss in enumerate([1.0, 0.5, 0.45, 0.42])]
    [True, True, True, True]
    >>> rule.best, rule.best_epoch, rule.no_improvement, rule.patience_used_up
    (0.42, 3, 2, True)
    """

    def __init__(
        self,
        *,
        maximize: bool = False,
        tol: float = 1e-4,
        patience: float = 10,
        strict: bool = True,
        keep_best: bool = False,
        best: float | None = None,
        no_improvement: int = 0,
        best_epoch: int | None = None,
        best_params: Params | None = None,
    ) -> None:
        self.maximize = maximize
        self.tol = tol
        self.patience = patience
        self.strict = strict
        self.keep_best = keep_best
        self.best: float = (-math.inf if maximize else math.inf) if best is None else best
        self.no_improvement = no_improvement
        self.best_epoch = best_epoch
        self.best_params = best_params

    def __repr__(self) -> str:
        return (
            f"StoppingRule(maximize={self.maximize}, tol={self.tol!r}, patience={self.patience!r}, "
            f"strict={self.strict}, best={self.best!r}, no_improvement={self.no_improvement})"
        )

    @property
    def patience_used_up(self) -> bool:
        """Whether ``patience`` epochs in a row have brought no improvement."""
        return self.no_improvement >= self.patience

    def update(self, value: float, net: Network | None = None, epoch: int | None = None) -> bool:
        """Count one epoch's monitored ``value``; True when it is a new best.

        A new best records ``epoch`` as :attr:`best_epoch` and, with ``keep_best``, a
        copy of ``net``'s weights as :attr:`best_params`.
        """
        new_best = self._count(value)
        if new_best:
            self.best_epoch = epoch
            if self.keep_best and net is not None:
                self.best_params = Params([W.copy() for W in net.W], [b.copy() for b in net.b])
        return new_best

    def update_many(self, values: Sequence[float], first_epoch: int) -> bool:
        """:meth:`update` for each of ``values`` in turn (epochs ``first_epoch``, ``first_epoch + 1``,
        ...), without weights to keep, as whole arrays; True when one of them is a new best.

        For the many epochs fit runs in one compiled call: the counts, the best value and
        its epoch come out as one :meth:`update` per value leaves them (NaN never a best).
        """
        assert not self.keep_best, "a best epoch's weights are gone after a run of many epochs"
        if not len(values):
            return False
        sign = -1.0 if self.maximize else 1.0  # a score to maximise is a loss to minimise
        u = sign * np.asarray(values, dtype=np.float64)
        start = sign * self.best
        before = np.fmin.accumulate(np.concatenate(([start], u)))  # fmin: a NaN leaves the best
        best_before = before[:-1]
        threshold = best_before - self.tol
        improves = u < threshold if self.strict else ~(u > threshold)
        hits = np.flatnonzero(improves)
        self.no_improvement = u.size - 1 - int(hits[-1]) if hits.size else self.no_improvement + u.size
        new_best = np.flatnonzero(u < best_before)
        if not new_best.size:
            return False
        self.best = float(sign * before[-1])
        self.best_epoch = first_epoch + int(new_best[-1])
        return True

    def resume(self, values: Iterable[float]) -> None:
        """Count on from earlier epochs' ``values`` (a resumed History's), oldest first.

        The best value and the count become what they were at the end of those
        epochs; their weights are gone, so they leave :attr:`best_params` and
        :attr:`best_epoch` as they are.
        """
        for value in values:
            self._count(value)

    def restart_patience(self) -> None:
        """Count the epochs without improvement from zero again (e.g. after lowering the learning rate)."""
        self.no_improvement = 0

    def restore(self, net: Network) -> None:
        """Give ``net`` the best epoch's weights, when they were kept; else leave it as it is."""
        if self.best_params is not None:
            net.params = self.best_params

    def _count(self, value: float) -> bool:
        """Update the no-improvement count and the best value; True for a new best."""
        self.no_improvement = 0 if self._improves(value) else self.no_improvement + 1
        if value > self.best if self.maximize else value < self.best:
            self.best = value
            return True
        return False

    def _improves(self, value: float) -> bool:
        """Whether ``value`` beats the best by more than ``tol`` (by at least ``tol`` unless strict)."""
        if self.maximize:
            threshold = self.best + self.tol
            return value > threshold if self.strict else not value < threshold
        threshold = self.best - self.tol
        return value < threshold if self.strict else not value > threshold
