"""scikit-learn's own estimator checks, run on deltaprop's estimators."""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks

from deltaprop.estimators import MLPClassifier, MLPRegressor

# Several checks fit on a few dozen samples for max_iter epochs without converging; scikit-learn's
# MLPs warn (ConvergenceWarning) there as ours do, and the checks do not expect it.  Warnings are
# errors in this test suite, so this one is ignored here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
