"""The machinery shared by :class:`~deltaprop.estimators.MLPClassifier` and ``MLPRegressor``.

The fitted state is plain: ``coefs_`` and ``intercepts_`` in scikit-learn's
(fan_in, fan_out) layout, numbers, strings, lists and arrays, and a
:class:`~deltaprop.train.History`.  A :class:`~deltaprop.network.Network` is built
from ``coefs_`` whenever one is needed (``W^(h) = coefs_[h-1].T``) and never
stored, and the optimiser's state is kept as named arrays
(:func:`deltaprop.optim.state_to_arrays`), so that ``skops.io`` can load a fitted
estimator trusting deltaprop's own classes only.
"""

from __future__ import annotations

import itertools
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from deltaprop._checks import as_generator
from deltaprop._types import Array
from deltaprop.activations import Activation, activation_names
from deltaprop.estimators._interop import FITTED, InteropMixin
from deltaprop.estimators._solvers import STOCHASTIC_SOLVERS, EpochRate, EpochRules, Objective, fit_lbfgs
from deltaprop.network import Cache, Network
from deltaprop.optim import state_from_arrays, state_to_arrays
from deltaprop.train import Callback, DivergenceError, History, Trainer, as_callback, fit, split_validation

# scikit-learn's name of each output unit -> deltaprop's.
OUTPUTS = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity"}


def is_dask(x: Any) -> bool:
    """A Dask collection (without importing Dask, an optional dependency)."""
    return hasattr(x, "__dask_graph__")


def blockwise(est: Any, method: str, X: Any, **kwargs: Any) -> Any:
    """``est.<method>`` on each row block of the Dask array X: a Dask array (deltaprop[dask])."""
    from deltaprop.estimators._dask import blockwise as on_blocks

    return on_blocks(est, method, X, **kwargs)


class BaseMLP(InteropMixin, BaseEstimator):
    """Parameters, training and hidden representations of the two estimators (not public)."""

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 - scikit-learn's convention
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(activation_names())), Activation, list, tuple],
        "solver": [StrOptions({"gd", "sgd", "adam", "lbfgs"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(numbers.Real, {np.inf}),
        ],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "callbacks": [None, list, tuple],
    }

    # Set by the subclasses: how targets become the output matrix Y, and how outputs are scored.
    _validate_input: Callable[..., tuple[Array, Array, Array | None, str]]
    _validation_score: Callable[[Array, Array, Array | None], float]
    _stratify: Callable[[Array], Array | None]

    # ------------------------------------------------------------------ checks
    def _hidden_layer_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and int(s) > 0 for s in sizes):
            raise ValueError(
                f"The 'hidden_layer_sizes' parameter of {type(self).__name__} must hold positive integers "
                f"(one width per hidden layer). Got {self.hidden_layer_sizes!r} instead."
            )
        return [int(s) for s in sizes]

    def _user_callbacks(self) -> list[Callback]:
        callbacks = []
        for i, cb in enumerate(self.callbacks or ()):
            if isinstance(cb, Callback) or callable(cb):
                callbacks.append(as_callback(cb))
            else:
                raise TypeError(
                    f"The 'callbacks' parameter of {type(self).__name__} must list deltaprop Callbacks or "
                    f"functions fn(epoch, history, net). Item {i} is a {type(cb).__name__}."
                )
        return callbacks

    def _input_dtype(self, first_pass: bool) -> Any:
        """The dtype X is converted to: the weights' once fitted, else ``dtype`` or scikit-learn's rule."""
        if not first_pass and hasattr(self, "coefs_"):
            return np.asarray(self.coefs_[0]).dtype
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return (np.float64, np.float32)  # float32 input trains in float32, anything else in float64

    def _validate_X_y(
        self, X: Any, y: Any, sample_weight: Any, first_pass: bool, **y_checks: Any
    ) -> tuple[Array, Any, Array | None]:
        """X, y and sample_weight checked by scikit-learn's rules; n_features_in_ set on a first fit."""
        reset = first_pass or not hasattr(self, "n_features_in_")
        X, y = validate_data(
            self, X, y, reset=reset, multi_output=True, dtype=self._input_dtype(first_pass), **y_checks
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        return X, y, sample_weight

    def _check_X(self, X: Any) -> Array:
        """X for prediction: fitted estimator, same features, the weights' dtype."""
        check_is_fitted(self, FITTED)
        return validate_data(self, X, reset=False, dtype=np.asarray(self.coefs_[0]).dtype)

    # --------------------------------------------------------------- network
    def _forward(self, X: Any) -> Cache:
        """The fitted network's forward pass on X, checked first (NotFittedError, features, dtype)."""
        X = self._check_X(X)
        return self._network()._forward(X)

    def _network(self) -> Network:
        """The fitted network, built from ``coefs_`` and ``intercepts_`` (copies)."""
        return Network.from_weights(
            [np.asarray(c).T for c in self.coefs_],
            self.intercepts_,
            activation=self.activation,
            output=OUTPUTS[self.out_activation_],
            dtype=np.asarray(self.coefs_[0]).dtype,
        )

    def _store(self, net: Network) -> None:
        self.coefs_ = [np.ascontiguousarray(W.T) for W in net.W]
        self.intercepts_ = [b.copy() for b in net.b]

    def _start_bookkeeping(self) -> None:
        """Fitted attributes of a fresh model that are not weights (first fit, or given weights)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self.history_ = History()
        self._no_improvement_count = 0
        self._best_coefs = [np.array(c) for c in self.coefs_]
        self._best_intercepts = [np.array(b) for b in self.intercepts_]
        if self.early_stopping and self.solver in STOCHASTIC_SOLVERS:
            self.validation_scores_: list[float] | None = []
            self.validation_loss_curve_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
            self.best_loss_ = np.inf
        for name in ("_optimizer_state", "_optimizer_solver", "_lr"):
            self.__dict__.pop(name, None)

    def _prepare(
        self, layer_units: list[int], dtype: np.dtype[Any], out: str, first_pass: bool, rng: Any
    ) -> None:
        """Draw the initial weights, or check the ones there against the data."""
        self.n_outputs_ = layer_units[-1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = out
        if first_pass:
            net = Network(
                layer_units, self.activation, OUTPUTS[out], init="sklearn", random_state=rng, dtype=dtype
            )
            self._store(net)
            self._start_bookkeeping()
            return
        expected = [(m, k) for m, k in itertools.pairwise(layer_units)]
        given = [np.shape(c) for c in self.coefs_]
        if given != expected or [np.shape(b) for b in self.intercepts_] != [(k,) for _, k in expected]:
            raise ValueError(
                f"The weights to continue from have coefs_ shapes {given}, but the data and "
                f"hidden_layer_sizes need {expected} (fan_in, fan_out). Set hidden_layer_sizes to match "
                "the weights, or fit with warm_start=False to start afresh."
            )
        if not hasattr(self, "t_"):  # weights set by hand on an unfitted estimator
            self.coefs_ = [np.array(c, dtype=dtype) for c in self.coefs_]
            self.intercepts_ = [np.array(b, dtype=dtype) for b in self.intercepts_]
            self._start_bookkeeping()

    # ------------------------------------------------------------------- fit
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        if is_dask(X) or is_dask(y):  # trained where the blocks are, deltaprop[dask]
            from deltaprop.estimators._dask import fit_on_dask

            return fit_on_dask(self, X, y, sample_weight, incremental)
        hidden = self._hidden_layer_sizes()
        user_callbacks = self._user_callbacks()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        X, Y, s, out = self._validate_input(X, y, sample_weight, incremental, first_pass)
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        rng = as_generator(self.random_state)
        self._prepare(layer_units, X.dtype, out, first_pass, rng)
        net = self._network()
        try:
            if self.solver == "lbfgs":
                self._fit_lbfgs(net, X, Y, s, user_callbacks)
            else:
                self._fit_stochastic(net, X, Y, s, rng, incremental, user_callbacks)
        except DivergenceError as error:
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values "
                f"and need to be preprocessed. {error}"
            ) from error
        self._store(net)
        return self

    def _fit_lbfgs(
        self,
        net: Network,
        X: Array,
        Y: Array,
        s: Array | None,
        callbacks: list[Callback],
        objective: Objective | None = None,
    ) -> None:
        # scikit-learn's penalty 0.5 alpha ||w||^2 / n is the lecture's lambda/2 ||w||^2, lambda = alpha / n.
        l2 = self.alpha / (X.shape[0] if s is None else float(s.sum()))
        result = fit_lbfgs(
            net,
            X,
            Y,
            s,
            l2,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            history=self.history_,
            callbacks=callbacks,
            verbose=bool(self.verbose),
            objective=objective,
        )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        self.loss_curve_ = list(self.history_.loss)
        self.best_loss_ = min(self.loss_curve_, default=self.loss_)
        if result.status != 0 and self.history_.stop_reason != "callback":
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={result.status}): "
                f"{result.message}. Increase the number of iterations (max_iter={self.max_iter}) or "
                f"max_fun={self.max_fun}, or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _optimizer(self, net: Network, l2: float, incremental: bool) -> tuple[Trainer, EpochRate | None]:
        """A Trainer for the solver; partial_fit continues the optimiser's state of the last call."""
        resume = incremental and getattr(self, "_optimizer_solver", None) == self.solver
        if self.solver == "adam":
            rate = None
            trainer = Trainer(
                net, "adam", self.learning_rate_init, l2, b1=self.beta_1, b2=self.beta_2, eps=self.epsilon
            )
        else:
            rate = EpochRate(self._lr if resume else self.learning_rate_init)
            if self.solver == "gd":
                trainer = Trainer(net, "gd", rate, l2)
            else:
                options = {"beta": self.momentum, "nesterov": self.nesterovs_momentum}
                trainer = Trainer(net, "momentum", rate, l2, **options)
        if resume:
            trainer.state = state_from_arrays(trainer.state, self._optimizer_state)
            trainer.steps = int(trainer.state.step)
        return trainer, rate

    def _fit_stochastic(
        self,
        net: Network,
        X: Array,
        Y: Array,
        s: Array | None,
        rng: np.random.Generator,
        incremental: bool,
        callbacks: list[Callback],
    ) -> None:
        validation = None
        if self.early_stopping and self.validation_scores_ is None:  # switched on since the last fit
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_, self.best_loss_ = -np.inf, None
        if not self.early_stopping and self.best_loss_ is None:  # switched off since the last fit
            self.best_loss_ = min(self.loss_curve_, default=np.inf)
        if self.early_stopping:
            train, val = split_validation(
                X.shape[0], self.validation_fraction, rng, labels=self._stratify(Y), scikit_learn=True
            )
            if val.size < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your "
                    "dataset."
                )
            validation = (X[val], Y[val], None if s is None else s[val])
            X, Y, s = X[train], Y[train], None if s is None else s[train]
        n = X.shape[0]
        if self.solver == "gd":
            batch_size = n
        elif self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped.",
                    UserWarning,
                    stacklevel=4,
                )
            batch_size = min(self.batch_size, n)
        # scikit-learn adds 0.5 alpha ||w||^2 / |B| to each batch's loss: the lecture's lambda = alpha / |B|
        # (alpha / sum of the batch's weights), here for the average batch of the epoch.
        l2 = self.alpha * n / (batch_size * (n if s is None else float(s.sum())))
        trainer, rate = self._optimizer(net, l2, incremental)
        rules = EpochRules(self, rate, n, validation, self._validation_score, callbacks)
        self.n_iter_ = 0
        history = fit(
            net,
            X,
            Y,
            optimizer=trainer,
            epochs=1 if incremental else self.max_iter,
            batch_size=batch_size,
            shuffle=self.shuffle,
            random_state=rng,
            sample_weight=s,
            validation_data=None if validation is None else validation[:2],
            callbacks=[rules],
            verbose=bool(self.verbose),
            history=self.history_,
        )
        if rules.stopped:
            history.stop_reason = "no_improvement"
        if history.stop_reason == "interrupted":
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        rules.restore_best(net)
        self._optimizer_state = state_to_arrays(trainer.state)
        self._optimizer_solver = self.solver
        self._lr = self.learning_rate_init if rate is None else rate.lr
        if not incremental and not rules.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # ----------------------------------------------------------- transform
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:  # float32 input stays float32 with dtype=None
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def transform(self, X: Any, layer: int | None = None) -> Array:
        """The hidden representation z^(k) of X: layer k's activations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int, optional
            k in 0..D, where D = ``n_layers_ - 1`` is the number of weight layers:
            0 gives X itself, 1..D-1 the hidden layers, D the output f(X).  By
            default the last hidden layer, k = D - 1.

        Returns
        -------
        ndarray of shape (n_samples, M_k)
            z^(k) = sigma(a^(k)), one row per sample; a DataFrame with the columns
            ``z{k}_1 .. z{k}_M`` after ``set_output(transform="pandas")``.
        """
        if is_dask(X):
            return blockwise(self, "transform", X, layer=layer)
        original = X
        X = self._check_X(X)
        D = len(self.coefs_)
        if layer is None:
            layer = D - 1
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 0 <= layer <= D:
            raise ValueError(
                f"The 'layer' parameter must be an int from 0 (the input) to {D} (the output). "
                f"Got {layer!r} instead."
            )
        Z = np.array(X) if layer == 0 else self._network()._forward(X).z[int(layer)]
        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return Z
        names = self._layer_feature_names(int(layer))
        return ADAPTERS_MANAGER.adapters[dense].create_container(Z, original, columns=names)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray[Any, Any]:
        """The names of :meth:`transform`'s columns: ``z{k}_1 .. z{k}_M`` for the last hidden layer k.

        Unit j of layer k is ``z{k}_{j}`` (j from 1, as on the slides), so that a
        Pipeline's ``set_output(transform="pandas")`` names the hidden units.
        """
        check_is_fitted(self, FITTED)
        _check_feature_names_in(self, input_features, generate_names=False)
        return self._layer_feature_names(len(self.coefs_) - 1)

    def _layer_feature_names(self, layer: int) -> np.ndarray[Any, Any]:
        if layer == 0:
            return _check_feature_names_in(self, None)
        width = np.shape(self.coefs_[layer - 1])[1]
        return np.asarray([f"z{layer}_{j}" for j in range(1, width + 1)], dtype=object)
