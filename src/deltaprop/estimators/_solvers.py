"""What the scikit-learn estimators add around deltaprop's training: scikit-learn's epoch rules and L-BFGS.

The estimators train their :class:`~deltaprop.network.Network` with
:func:`deltaprop.train.fit` (solvers "gd", "sgd", "adam": ``STOCHASTIC_SOLVERS``, the
ones with ``partial_fit``) and with :func:`fit_lbfgs` here (solver "lbfgs").
scikit-learn's MLP decides three things at the end of every epoch, in this order, and
:class:`EpochRules` repeats them, with :class:`deltaprop.train.StoppingRule` (the
rule ``fit``'s early stopping uses) deciding "improved?", "patience used up?" and
"best weights" in scikit-learn's convention:

    1. count an epoch without improvement:
         training loss  L_t > best_loss - tol                    (early_stopping=False)
         validation score  s_t < best_score + tol                (early_stopping=True;
                                                                  the best weights are kept)
    2. learning_rate="invscaling":  eta = learning_rate_init / (t + 1)^power_t,
       t = the number of samples seen so far (it changes once per epoch)
    3. after more than n_iter_no_change such epochs: stop, or with
       learning_rate="adaptive" divide eta by 5 and count again (stop once eta <= 1e-6)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.optimize
from numpy.typing import NDArray

from deltaprop._types import Array, Grads, Params
from deltaprop.network import Network
from deltaprop.train import (
    Callback,
    DivergenceError,
    FullBatchObjective,
    History,
    ProgressBar,
    StoppingRule,
    Trainer,
)

# The loss and gradient at a network's parameters, computed elsewhere (fit_lbfgs's 'objective').
Objective = Callable[[Network, float], tuple[float, Grads]]

# The solvers that train by deltaprop.train.fit, epoch by epoch (partial_fit: one epoch more).
STOCHASTIC_SOLVERS = ("gd", "sgd", "adam")
# scikit-learn stops an adaptive learning rate instead of dividing it below this.
MIN_ADAPTIVE_LR = 1e-6
ADAPTIVE_DIVISOR = 5.0


def has_partial_fit(estimator: Any) -> bool:
    """partial_fit is there for the solvers of STOCHASTIC_SOLVERS (the check of ``available_if``)."""
    if estimator.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for the solvers {list(STOCHASTIC_SOLVERS)}; "
            f"{estimator.solver!r} is not one of them."
        )
    return True


class EpochRate:
    """A learning rate that changes only between epochs: scikit-learn's invscaling and adaptive.

    The optimiser calls it with its step count and gets the current rate;
    :class:`EpochRules` sets ``lr`` at the end of each epoch.  (optim's
    ``inverse_scaling`` counts steps, scikit-learn counts samples seen per epoch.)
    """

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, step: int) -> float:
        return self.lr

    def __repr__(self) -> str:
        return f"EpochRate(lr={self.lr!r})"


class EpochRules(Callback):
    """scikit-learn's end-of-epoch bookkeeping, stopping rule and schedules, for one estimator.

    It updates the estimator's ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
    ``validation_loss_curve_`` and best weights in place, and passes every event on
    to the user's callbacks (all of them are called, even when one asks to stop).
    """

    def __init__(
        self,
        estimator: Any,
        rate: EpochRate | None,
        n_train: int,
        validation: tuple[Array, Array, Array | None] | None,
        score: Callable[[Array, Array, Array | None], float],
        user_callbacks: Sequence[Callback],
    ) -> None:
        self.estimator = estimator
        self.rate = rate
        self.n_train = n_train
        self.validation = validation
        self.score = score
        self.user_callbacks = list(user_callbacks)
        self.stopped = False
        self.stopping = _stopping_rule(estimator, early_stopping=validation is not None)

    def on_train_begin(self, trainer: Trainer, rng: np.random.Generator) -> None:
        for callback in self.user_callbacks:
            callback.on_train_begin(trainer, rng)

    def on_batch_end(self, step: int, loss: float, net: Network) -> bool:
        return any([bool(cb.on_batch_end(step, loss, net)) for cb in self.user_callbacks])

    def on_epoch_end(self, epoch: int, history: History, net: Network) -> bool:
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = history.loss[-1]
        est.loss_curve_.append(est.loss_)
        stopping = self.stopping
        if self.validation is None:
            stopping.update(est.loss_)
            est.best_loss_ = stopping.best
        else:
            X_val, Y_val, s_val = self.validation
            est.validation_loss_curve_.append(history.val_loss[-1])
            value = self.score(net._forward(X_val).z[-1], Y_val, s_val)
            est.validation_scores_.append(value)
            if stopping.update(value, net, epoch):
                best = stopping.best_params
                assert best is not None  # kept by the rule at every new best (keep_best)
                est.best_validation_score_ = stopping.best
                est._best_coefs = [W.T.copy() for W in best.W]
                est._best_intercepts = [b.copy() for b in best.b]
        rate = self.rate  # None for adam, which has no schedule in scikit-learn
        if rate is not None and est.learning_rate == "invscaling":
            rate.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        stop = False
        if stopping.patience_used_up:
            if rate is not None and est.learning_rate == "adaptive" and rate.lr > MIN_ADAPTIVE_LR:
                rate.lr /= ADAPTIVE_DIVISOR
                stopping.restart_patience()
            else:
                stop = self.stopped = True
        est._no_improvement_count = stopping.no_improvement
        user_stop = any([bool(cb.on_epoch_end(epoch, history, net)) for cb in self.user_callbacks])
        return stop or user_stop

    def restore_best(self, net: Network) -> None:
        """With early stopping, give ``net`` the best validation epoch's weights (this fit's or earlier)."""
        self.stopping.restore(net)


def _stopping_rule(est: Any, early_stopping: bool) -> StoppingRule:
    """The estimator's stopping rule in scikit-learn's terms, counting on from its fitted state.

    Monitored: the validation score with early stopping (and the best weights kept),
    else the training loss.  scikit-learn counts "no improvement" as
    ``loss > best_loss_ - tol`` or ``score < best_validation_score_ + tol`` (strict=False),
    and stops after *more than* ``n_iter_no_change`` such epochs.
    """
    best_params = None
    if early_stopping:  # the best weights so far, in the network's layout W^(h) = coefs_[h-1].T
        best_params = Params([np.asarray(c).T.copy() for c in est._best_coefs], list(est._best_intercepts))
    return StoppingRule(
        maximize=early_stopping,
        tol=est.tol,
        patience=est.n_iter_no_change + 1,  # "more than n_iter_no_change" (inf + 1 is inf)
        strict=False,
        keep_best=early_stopping,
        best=est.best_validation_score_ if early_stopping else est.best_loss_,
        no_improvement=est._no_improvement_count,
        best_params=best_params,
    )


# ------------------------------------------------------------------------ L-BFGS
def _pack(W: Sequence[Array], b: Sequence[Array]) -> NDArray[np.float64]:
    """One float64 vector: every W^(h) in scikit-learn's (fan_in, fan_out) order, then every b^(h)."""
    return np.concatenate([*(w.T.ravel() for w in W), *(v.ravel() for v in b)]).astype(np.float64)


def _unpack(theta: NDArray[np.float64], sizes: Sequence[int], dtype: np.dtype[Any]) -> Params:
    """Inverse of :func:`_pack`: W^(h) of shape (M_h, M_{h-1}) and b^(h) of the network's dtype."""
    W, b = [], []
    start = 0
    for fan_in, fan_out in itertools.pairwise(sizes):
        end = start + fan_in * fan_out
        W.append(theta[start:end].reshape(fan_in, fan_out).T.astype(dtype))
        start = end
    for fan_out in sizes[1:]:
        b.append(theta[start : start + fan_out].astype(dtype))
        start += fan_out
    return Params(W, b)


def fit_lbfgs(
    net: Network,
    X: Array,
    Y: Array,
    sample_weight: Array | None,
    l2: float,
    *,
    max_iter: int,
    max_fun: int,
    tol: float,
    history: History,
    callbacks: Sequence[Callback] = (),
    verbose: bool = False,
    objective: Objective | None = None,
) -> scipy.optimize.OptimizeResult:
    """Minimise L_S + l2/2 ||w||^2 over all parameters of ``net`` by L-BFGS-B, in place.

    The objective and its gradient are deltaprop's forward pass and
    backpropagation at the unpacked parameters; scipy's options are scikit-learn's
    (``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol``).  After every iteration
    ``history.loss`` gets the loss, and the callbacks' ``on_epoch_end`` is called
    with the iterate's parameters; one returning True ends the run.

    ``objective(net, l2) -> (loss, grads)``, when given, computes them instead (the sums
    over a Dask array's blocks, :class:`deltaprop.dask.DaskObjective`); X and Y are then
    only its data's description.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``net`` holds the parameters of ``result.x``.
    """
    sizes = net.sizes
    if objective is None:
        # the forward pass and backpropagation, compiled where the engine covers the network and pays
        full_batch = FullBatchObjective(net, X, Y, l2, sample_weight, evaluations=max_iter)

        def objective(net: Network, l2: float) -> tuple[float, Grads]:
            return full_batch()

    def loss_and_gradient(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        net.params = _unpack(theta, sizes, net.dtype)
        loss, grads = objective(net, l2)
        if not math.isfinite(loss):
            raise DivergenceError(
                f"The loss became {loss} during L-BFGS: training diverged. Standardise the inputs "
                "(zero mean, unit variance)."
            )
        return loss, _pack(grads.W, grads.b)

    progress = ProgressBar(max_iter, enabled=verbose)

    def after_iteration(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        history.loss.append(float(intermediate_result.fun))
        net.params = _unpack(intermediate_result.x, sizes, net.dtype)
        progress.advance(f"loss {history.loss[-1]:.4f}")
        epoch = history.epochs - 1
        if any([bool(cb.on_epoch_end(epoch, history, net)) for cb in callbacks]):
            history.stop_reason = "callback"
            raise StopIteration

    with progress, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        result = scipy.optimize.minimize(
            loss_and_gradient,
            _pack(net.W, net.b),
            method="L-BFGS-B",
            jac=True,
            callback=after_iteration,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
        )
    net.params = _unpack(result.x, sizes, net.dtype)
    return result
