"""The estimators on Dask arrays: exact full-batch fits, partial_fit over blocks, blockwise predictions.

``fit`` with ``solver="gd"`` or ``"lbfgs"`` trains on the blocks where they live
(:mod:`deltaprop.dask`): the same steps, stopping rules and fitted attributes as on
NumPy input, the gradient summed over the blocks.  ``partial_fit`` on a Dask array is
one pass over its blocks, each block's ``partial_fit`` in turn, one block in memory at
a time.  ``predict``, ``predict_proba``, ``predict_log_proba`` and ``transform`` return
Dask arrays computed block by block.  This module imports Dask; the estimators import
it only when they are given a Dask collection.
"""

from __future__ import annotations

import warnings
from typing import Any

import dask
import dask.array as da
import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from deltaprop._checks import as_generator
from deltaprop.dask import DaskObjective
from deltaprop.dask import fit as fit_on_blocks
from deltaprop.estimators._labels import classes_of, encode, fitted_classes, one_hot
from deltaprop.estimators._solvers import EpochRules
from deltaprop.network import Network
from deltaprop.optim import state_to_arrays
from deltaprop.train import DivergenceError

EXACT_SOLVERS = ("gd", "lbfgs")


def _as_array(x: Any, name: str) -> da.Array:
    """A Dask array from a Dask array or dataframe (row blocks of known size)."""
    if hasattr(x, "to_dask_array"):  # a Dask DataFrame or Series
        return x.to_dask_array(lengths=True)
    if isinstance(x, da.Array):
        return x
    raise TypeError(f"{name} must be a Dask array or dataframe beside a Dask X; got {type(x).__name__}.")


def _targets(est: Any, y: da.Array, dtype: np.dtype[Any], first_pass: bool) -> tuple[da.Array, str]:
    """The output matrix Y as a Dask array (one-hot built per block), and the output unit's name."""
    if not is_classifier(est):
        Y = y.astype(dtype)
        return (Y[:, None] if Y.ndim == 1 else Y), "identity"
    if y.ndim != 1:
        raise ValueError("MLPClassifier on Dask arrays takes y as 1-D class labels (no multi-label).")
    if est.class_weight is not None:
        raise ValueError("MLPClassifier on Dask arrays does not take class_weight; give sample_weight.")
    classes = classes_of(da.unique(y).compute())
    continued = None if first_pass else getattr(est, "classes_", None)
    est.classes_ = fitted_classes(classes, continued, False, False)
    softmax = est.out_activation_ == "softmax" if not first_pass else len(est.classes_) > 2
    K = len(est.classes_) if softmax else 1
    known = est.classes_

    def encode_block(labels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        index, _ = encode(labels, known)
        return one_hot(index, len(known), softmax, dtype)

    Y = da.map_blocks(encode_block, y, new_axis=1, chunks=(y.chunks[0], (K,)), dtype=dtype)
    return Y, "softmax" if softmax else "logistic"


def fit_on_dask(est: Any, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Any:
    """``est.fit`` (or ``partial_fit``) on Dask collections; returns ``est``."""
    if incremental:
        return _partial_fit_blocks(est, X, y, sample_weight)
    if est.solver not in EXACT_SOLVERS:
        raise ValueError(
            f"{type(est).__name__}.fit on Dask arrays trains with solver in {list(EXACT_SOLVERS)} (exact "
            f"full-batch steps over the blocks); got solver={est.solver!r}. For mini-batches use "
            "dask_ml.wrappers.Incremental(estimator) (partial_fit per block) or deltaprop.dask.fit."
        )
    if est.early_stopping:
        raise ValueError("early_stopping on Dask arrays is not supported: it holds validation rows out.")
    if hasattr(X, "columns"):
        est.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
    X = _as_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    first_pass = not hasattr(est, "coefs_") or not est.warm_start
    wanted = est._input_dtype(first_pass)  # the weights' dtype, dtype, or float32 stays float32
    dtype = np.dtype(
        wanted if not isinstance(wanted, tuple) else X.dtype if X.dtype == np.float32 else "float64"
    )
    if first_pass:
        est.n_features_in_ = int(X.shape[1])
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is expecting {est.n_features_in_} "
            "features as input."
        )
    X = X.astype(dtype)
    y = _as_array(y, "y") if dask.is_dask_collection(y) else da.from_array(np.asarray(y), chunks=X.chunks[0])
    Y, out = _targets(est, y, dtype, first_pass)
    s = None
    if sample_weight is not None:
        s = (
            _as_array(sample_weight, "sample_weight")
            if dask.is_dask_collection(sample_weight)
            else da.from_array(np.asarray(sample_weight, dtype=dtype), chunks=X.chunks[0])
        )
    rng = as_generator(est.random_state)
    est._prepare([int(X.shape[1]), *est._hidden_layer_sizes(), int(Y.shape[1])], dtype, out, first_pass, rng)
    net = est._network()
    callbacks = est._user_callbacks()
    try:
        if est.solver == "lbfgs":
            objective = DaskObjective(net, X, Y, s, evaluations=est.max_fun)
            est._fit_lbfgs(net, X, Y, s, callbacks, objective=objective)
        else:
            _fit_gd(est, net, X, Y, s, callbacks)
    except DivergenceError as error:
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may contain large values "
            f"and need to be preprocessed. {error}"
        ) from error
    est._store(net)
    return est


def _fit_gd(
    est: Any, net: Network, X: da.Array, Y: da.Array, s: da.Array | None, callbacks: list[Any]
) -> None:
    """scikit-learn's epochs of full-batch GD (its stopping rule and schedules), each step over the blocks."""
    n = int(X.shape[0]) if s is None else float(s.sum().compute())
    l2 = est.alpha / n  # 0.5 alpha ||w||^2 / n: the lecture's lambda = alpha / n for the full batch
    trainer, rate = est._optimizer(net, l2, False)
    rules = EpochRules(est, rate, int(X.shape[0]), None, est._validation_score, callbacks)
    est.n_iter_ = 0
    history = fit_on_blocks(
        net,
        X,
        Y,
        optimizer=trainer,
        epochs=est.max_iter,
        sample_weight=s,
        callbacks=[rules],
        verbose=bool(est.verbose),
        history=est.history_,
    )
    if rules.stopped:
        history.stop_reason = "no_improvement"
    est._optimizer_state = state_to_arrays(trainer.state)
    est._optimizer_solver = est.solver
    est._lr = rate.lr if rate is not None else est.learning_rate_init
    if not rules.stopped and est.n_iter_ == est.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the optimization "
            "hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=5,
        )


def _partial_fit_blocks(est: Any, X: Any, y: Any, sample_weight: Any) -> Any:
    """One partial_fit per row block, in order; one block in the client's memory at a time."""
    X = _as_array(X, "X").rechunk({1: -1})
    rows = X.chunks[0]
    y = _as_array(y, "y") if dask.is_dask_collection(y) else da.from_array(np.asarray(y), chunks=rows)
    y = y.rechunk((rows, *((-1,) * (y.ndim - 1))))
    parts = [X.to_delayed().ravel(), y.to_delayed().ravel()]
    if sample_weight is not None:
        s = (
            _as_array(sample_weight, "sample_weight")
            if dask.is_dask_collection(sample_weight)
            else da.from_array(np.asarray(sample_weight), chunks=rows)
        )
        parts.append(s.rechunk((rows,)).to_delayed().ravel())
    for blocks in zip(*parts, strict=True):
        Xb, yb, *sb = dask.compute(*blocks)  # labels of any kind: est.partial_fit checks them
        est._fit(Xb, yb, sb[0] if sb else None, incremental=True)
    return est


def blockwise(est: Any, method: str, X: Any, **kwargs: Any) -> da.Array:
    """``est.<method>(X)`` as a Dask array: the method applied to each row block of X."""
    X = X.to_dask_array() if hasattr(X, "to_dask_array") else X
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    X = X.rechunk({1: -1})
    apply = getattr(est, method)
    # One row of zeros tells the result's dtype and width (and fails as predict does if unfitted).
    sample = apply(np.zeros((1, X.shape[1]), dtype=X.dtype if X.dtype.kind == "f" else np.float64), **kwargs)

    def on_block(block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return apply(block, **kwargs)

    if sample.ndim == 1:
        return X.map_blocks(on_block, drop_axis=1, dtype=sample.dtype, meta=np.empty((0,), sample.dtype))
    return X.map_blocks(on_block, chunks=(X.chunks[0], (sample.shape[1],)), dtype=sample.dtype)
