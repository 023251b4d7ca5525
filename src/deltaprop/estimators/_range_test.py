"""``lr_range_test`` on the estimators: Smith's range test with the estimator's own network and solver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import clone

from deltaprop._checks import as_generator
from deltaprop.estimators._base import OUTPUTS
from deltaprop.lab import RangeTest, lr_range_test
from deltaprop.network import Network
from deltaprop.optim import GradientTransformation, adam, momentum

FULL_BATCH_STEPS = 100  # the default length of a range test for solver="gd" (one update per epoch)


class RangeTestMixin:
    """Adds :meth:`lr_range_test` to an estimator with ``_validate_input`` (not public)."""

    def lr_range_test(
        self,
        X: Any,
        y: Any,
        lr_min: float = 1e-5,
        lr_max: float = 10.0,
        epochs: int | None = None,
        mode: str = "exponential",
        smooth: float = 0.05,
        stop_factor: float = 4.0,
    ) -> RangeTest:
        """Smith's learning-rate range test on this estimator's network, solver and batches.

        A fresh network is drawn as :meth:`fit` would draw it (``hidden_layer_sizes``,
        ``activation``, ``random_state``) and trained by the estimator's solver while
        the learning rate ramps from ``lr_min`` to ``lr_max``
        (:func:`deltaprop.lab.lr_range_test`).  The estimator itself is not fitted or
        changed: use the suggested ``max_lr`` (or ``base_lr``) as ``learning_rate_init``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        lr_min, lr_max : float, default 1e-5 and 10
            The first and the last learning rate.
        epochs : int, optional
            Passes over the data: 3 by default for ``sgd`` and ``adam`` (mini-batches of
            ``batch_size``), 100 for ``gd`` (full batch, one update per epoch).
        mode : {"exponential", "linear"}, default "exponential"
        smooth : float, default 0.05
            The moving average's window as a fraction of the updates.
        stop_factor : float, default 4
            Stop once the loss's running average exceeds stop_factor x its minimum.

        Returns
        -------
        RangeTest
            ``lr``, ``loss``, ``score`` per update and Smith's ``base_lr`` and ``max_lr``.

        Raises
        ------
        ValueError
            For ``solver="lbfgs"``, which has no learning rate.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.preprocessing import StandardScaler
        >>> from deltaprop.estimators import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, batch_size=16,
        ...                     random_state=0)
        >>> result = clf.lr_range_test(X, y, lr_min=1e-4, lr_max=10.0, epochs=6)
        >>> bool(1e-4 < result.base_lr < result.max_lr < 10.0)
        True
        """
        probe: Any = clone(self)  # validation sets fitted attributes: do it on an unfitted copy
        probe._validate_params()
        if probe.solver == "lbfgs":
            raise ValueError(
                f"The range test needs a learning rate, and solver='lbfgs' has none. "
                f"Set solver to 'gd', 'sgd' or 'adam' on the {type(self).__name__}."
            )
        X, Y, _, out = probe._validate_input(X, y, None, False, True)
        n = X.shape[0]
        rng = as_generator(probe.random_state)
        sizes = [X.shape[1], *probe._hidden_layer_sizes(), Y.shape[1]]
        net = Network(sizes, probe.activation, OUTPUTS[out], init="sklearn", random_state=rng, dtype=X.dtype)
        if probe.solver == "gd":
            batch_size = n
        elif probe.batch_size == "auto":
            batch_size = min(200, n)
        else:
            batch_size = min(int(probe.batch_size), n)
        if epochs is None:
            epochs = FULL_BATCH_STEPS if probe.solver == "gd" else 3
        optimizer: str | Callable[[Any], GradientTransformation]
        if probe.solver == "sgd":

            def optimizer(ramp: Any) -> GradientTransformation:
                return momentum(ramp, beta=probe.momentum, nesterov=probe.nesterovs_momentum)
        elif probe.solver == "adam":

            def optimizer(ramp: Any) -> GradientTransformation:
                return adam(ramp, b1=probe.beta_1, b2=probe.beta_2, eps=probe.epsilon)
        else:
            optimizer = "gd"
        return lr_range_test(
            net,
            X,
            Y,
            lr_min=lr_min,
            lr_max=lr_max,
            epochs=epochs,
            batch_size=batch_size,
            mode=mode,
            l2=probe.alpha / batch_size,  # scikit-learn's 0.5 alpha ||w||^2 / |B| per batch
            optimizer=optimizer,
            smooth=smooth,
            stop_factor=stop_factor,
            random_state=rng,
        )
