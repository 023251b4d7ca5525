"""Training loops: the lecture's gradient descent, and fit with its parts.

:func:`gradient_descent` is the lecture's batch gradient descent; :func:`fit` the
practical loop (mini-batches, any optimiser, validation, early stopping, callbacks)
around a :class:`Trainer`, which makes one step at a time.  :class:`History`
records the epochs, and :class:`StoppingRule` decides when to stop and which weights
were best.  :class:`StoppingRule`, :func:`as_callback` and :class:`ProgressBar` are
what other training loops (the scikit-learn estimators') share with ``fit``.
"""

from deltaprop._api import publish
from deltaprop.metrics import output_score as score  # the validation score fit records
from deltaprop.train._callbacks import Callback, as_callback
from deltaprop.train._fit import fit
from deltaprop.train._gd import gradient_descent
from deltaprop.train._history import History
from deltaprop.train._objective import FullBatchObjective
from deltaprop.train._progress import ProgressBar
from deltaprop.train._split import split_validation
from deltaprop.train._stopping import StoppingRule
from deltaprop.train._trainer import DivergenceError, Trainer, engine_pays

__all__ = [
    "Callback",
    "DivergenceError",
    "FullBatchObjective",
    "History",
    "ProgressBar",
    "StoppingRule",
    "Trainer",
    "as_callback",
    "engine_pays",
    "fit",
    "gradient_descent",
    "score",
    "split_validation",
]

publish(__name__, Callback, DivergenceError, FullBatchObjective, History, ProgressBar, StoppingRule, Trainer)
