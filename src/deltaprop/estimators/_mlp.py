"""scikit-learn estimators on deltaprop's engine: drop-in ``MLPClassifier`` and ``MLPRegressor``.

Same parameters, defaults, fitted attributes and methods as scikit-learn's classes
of the same names, trained by deltaprop's network, backpropagation and optimisers
(:mod:`deltaprop.network`, :mod:`deltaprop.train`, :mod:`deltaprop.optim`)::

    from sklearn.neural_network import MLPClassifier    # before
    from deltaprop.estimators._mlp import MLPClassifier      # after

``alpha`` is scikit-learn's: the penalty 0.5 alpha ||w||^2 / n is added to the loss
of a batch of n samples, so it is the lecture's lambda/2 ||w||^2 with

    lambda = alpha / n        (full batch: solver "gd" or "lbfgs")
    lambda = alpha / |B|      (mini-batches B: solvers "sgd" and "adam")

Beyond scikit-learn: solver="gd" (the lecture's full-batch gradient descent), an
activation per hidden layer and user-defined :class:`~deltaprop.activations.Activation`
records, ``class_weight``, ``validation_loss_curve_``, ``transform(X, layer=k)``,
``history_`` and ``callbacks``, ``dtype``, multi-output regression whose reported
loss is the one its gradient belongs to, string and mixed-type labels, and
conversion to and from scikit-learn and PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from deltaprop._types import Array
from deltaprop.activations import _softplus
from deltaprop.estimators._base import BaseMLP, blockwise, is_dask
from deltaprop.estimators._docs import with_docs
from deltaprop.estimators._labels import (
    classes_of,
    encode,
    fitted_classes,
    label_targets,
    network_classes,
    one_hot,
    partial_fit_classes,
    sample_class_weights,
)
from deltaprop.estimators._range_test import RangeTestMixin
from deltaprop.estimators._solvers import has_partial_fit
from deltaprop.losses import log_softmax
from deltaprop.network import Network

__all__ = ["MLPClassifier", "MLPRegressor"]


# ------------------------------------------------------------------ classifier
class MLPClassifier(RangeTestMixin, ClassifierMixin, TransformerMixin, BaseMLP):
    __doc__ = with_docs(
        """A multi-layer perceptron classifier trained by deltaprop; scikit-learn's MLPClassifier.

    Classes get a softmax output with cross-entropy (more than two classes), one
    sigmoid unit with binary cross-entropy (two classes, P(classes_[1])), or one
    sigmoid unit per label (y a 0/1 indicator matrix: multi-label).  Labels may be
    numbers, strings, or both.
""",
        """
    class_weight : dict, "balanced" or None, default None
        Weights per class, multiplying ``sample_weight``: {label: weight}, or
        n_samples / (n_classes * count of the class).  Not for multi-label y.
""",
        """    classes_ : ndarray of shape (n_classes,)
        The labels, sorted (numbers before strings when y mixes them).
""",
        """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict(X[:3]), round(clf.score(X, y), 2) >= 0.97
    (array([0, 0, 0]), True)
    >>> clf.transform(X[:3]).shape   # the hidden layer's activations z^(1)
    (3, 16)
""",
    )

    _parameter_constraints = {  # noqa: RUF012 - scikit-learn's convention
        **BaseMLP._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }
    _default_output = "softmax"

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        class_weight: Any = None,
        dtype: Any = None,
        callbacks: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.dtype = dtype
        self.callbacks = callbacks

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # --------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to X (n_samples, n_features) and the labels y (n_samples,) or (n_samples, K) 0/1.

        ``sample_weight`` (n_samples,) weighs each sample's loss: L_S = sum_i s_i l_i / sum_i s_i.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(has_partial_fit)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing the weights and the optimiser's state.

        ``classes`` (all labels that will ever be seen) is needed on the first call
        unless y is a multi-label indicator matrix; later labels must be among them.
        """
        self._validate_params()
        first_classes = partial_fit_classes(classes, getattr(self, "classes_", None), y)
        if first_classes is not None:
            self.classes_ = first_classes
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(
        self, X: Any, y: Any, sample_weight: Any, incremental: bool, first_pass: bool
    ) -> tuple[Array, Array, Array | None, str]:
        X, y, s = self._validate_X_y(X, y, sample_weight, first_pass)
        y = label_targets(y, self.class_weight)
        multilabel = y.ndim == 2
        classes = np.arange(y.shape[1]) if multilabel else classes_of(y)
        continued = getattr(self, "classes_", None) if incremental or not first_pass else None
        self.classes_ = fitted_classes(classes, continued, incremental, multilabel)
        if multilabel:
            return X, np.asarray(y, dtype=X.dtype), s, "logistic"
        index, _ = encode(y, self.classes_)
        # Continue in the output layout there is (a 2-unit softmax from from_network stays one).
        softmax = (
            self.out_activation_ == "softmax"
            if hasattr(self, "out_activation_") and not first_pass
            else len(self.classes_) > 2
        )
        Y = one_hot(index, len(self.classes_), softmax, X.dtype)
        s = sample_class_weights(self.class_weight, self.classes_, index, s, incremental)
        return X, Y, s, "softmax" if softmax else "logistic"

    def _stratify(self, Y: Array) -> Array | None:
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1)
        return Y[:, 0] if Y.shape[1] == 1 else None  # multi-label: not stratified

    def _validation_score(self, F: Array, Y: Array, s: Array | None) -> float:
        """Accuracy (exact match of every label for multi-label), as scikit-learn's score."""
        if not np.isfinite(F).all():
            return float("nan")
        if self.out_activation_ == "softmax":
            correct = F.argmax(axis=1) == Y.argmax(axis=1)
        else:
            correct = ((F > 0.5) == (Y > 0.5)).all(axis=1)
        return float(np.average(correct, weights=s))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (exact match of every label for multi-label); labels of mixed types too."""
        if self.out_activation_ == "logistic" and self.n_outputs_ > 1:
            return float(super().score(X, y, sample_weight))
        # Compare class indices: scikit-learn's metrics cannot sort labels mixing strings and numbers.
        predicted, _ = encode(self.predict(X), self.classes_)
        true, _ = encode(column_or_1d(np.asarray(y, dtype=object)), self.classes_)
        return float(accuracy_score(true, predicted, sample_weight=sample_weight))

    # ----------------------------------------------------------- predict
    def predict(self, X: Any) -> np.ndarray[Any, Any]:
        """The predicted labels (n_samples,), or the 0/1 indicator matrix (n_samples, K) for multi-label."""
        if is_dask(X):
            return blockwise(self, "predict", X)
        F = self._forward(X).z[-1]
        if self.out_activation_ == "softmax":
            return self.classes_[F.argmax(axis=1)]
        if self.n_outputs_ == 1:
            return self.classes_[(F[:, 0] > 0.5).astype(np.intp)]
        return (F > 0.5).astype(int)

    def predict_proba(self, X: Any) -> Array:
        """Probabilities (n_samples, n_classes) in the order of ``classes_`` (per label for multi-label)."""
        if is_dask(X):
            return blockwise(self, "predict_proba", X)
        F = self._forward(X).z[-1]
        if self.out_activation_ == "logistic" and self.n_outputs_ == 1:
            return np.hstack([1.0 - F, F])
        return F

    def predict_log_proba(self, X: Any) -> Array:
        """log(predict_proba(X)), computed from the logits a^(D) so that it stays finite."""
        if is_dask(X):
            return blockwise(self, "predict_log_proba", X)
        a = self._forward(X).a[-1]
        if self.out_activation_ == "softmax":
            return log_softmax(a)
        if self.n_outputs_ == 1:  # log(1 - sigmoid(a)) = -softplus(a), log sigmoid(a) = -softplus(-a)
            return np.hstack([-_softplus(a), -_softplus(-a)])
        return -_softplus(-a)

    # ------------------------------------------------------------ interop
    def _export_classes(self) -> Any:
        return None if self.out_activation_ == "logistic" and self.n_outputs_ > 1 else self.classes_

    def _adopt_outputs(self, net: Network, classes: Any) -> None:
        self.classes_ = network_classes(net.output.name, net.sizes[-1], classes)
        self.out_activation_ = "softmax" if net.output.name == "softmax" else "logistic"


# ------------------------------------------------------------------- regressor
class MLPRegressor(RangeTestMixin, RegressorMixin, TransformerMixin, BaseMLP):
    __doc__ = with_docs(
        """A multi-layer perceptron regressor trained by deltaprop; scikit-learn's MLPRegressor.

    The output is linear (identity) with the lecture's squared error
    L = 1/2 sum_k (f_k(x) - y_k)^2, summed over the K outputs.  scikit-learn averages
    its reported loss over the outputs while its gradient is that of the sum; here
    ``loss_curve_`` is the loss whose gradient is followed (the same for one output).
""",
        """
    loss : {"squared_error"}, default "squared_error"
        The loss; scikit-learn's "poisson" is not available.
""",
        "",
        """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-2, 2, 50).reshape(-1, 1)
    >>> y = np.column_stack([np.sin(X[:, 0]), X[:, 0] ** 2])      # two outputs
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", solver="lbfgs", random_state=0)
    >>> reg = reg.fit(X, y)
    >>> reg.predict(X[:2]).shape, reg.score(X, y) > 0.99
    ((2, 2), True)
""",
    )

    _parameter_constraints = {  # noqa: RUF012 - scikit-learn's convention
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error"})],
    }
    _default_output = "identity"

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        dtype: Any = None,
        callbacks: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.dtype = dtype
        self.callbacks = callbacks

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the network to X (n_samples, n_features) and y (n_samples,) or (n_samples, K).

        ``sample_weight`` (n_samples,) weighs each sample's loss: L_S = sum_i s_i l_i / sum_i s_i.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(has_partial_fit)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), continuing the weights and the optimiser's state."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(
        self, X: Any, y: Any, sample_weight: Any, incremental: bool, first_pass: bool
    ) -> tuple[Array, Array, Array | None, str]:
        X, y, s = self._validate_X_y(X, y, sample_weight, first_pass, y_numeric=True)
        Y = np.asarray(y, dtype=X.dtype).reshape(len(y), -1)
        return X, Y, s, "identity"

    def _stratify(self, Y: Array) -> None:
        return None

    def _validation_score(self, F: Array, Y: Array, s: Array | None) -> float:
        """R^2, averaged over the outputs, as scikit-learn's score."""
        if not np.isfinite(F).all():
            return float("nan")
        return float(r2_score(Y, F, sample_weight=s))

    def predict(self, X: Any) -> Array:
        """f(X): shape (n_samples,) for one output, else (n_samples, K)."""
        if is_dask(X):
            return blockwise(self, "predict", X)
        F = self._forward(X).z[-1]
        return F[:, 0] if F.shape[1] == 1 else F

    def _export_classes(self) -> None:
        return None

    def _adopt_outputs(self, net: Network, classes: Any) -> None:
        if net.output.name != "identity" or classes is not None:
            raise ValueError(
                f"A regressor needs an identity output and no classes; the network's output is "
                f"{net.output.name!r}."
            )
        self.out_activation_ = "identity"
