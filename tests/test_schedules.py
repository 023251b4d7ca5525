import itertools
import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from deltaprop.schedules import (
    ReduceOnPlateau,
    constant,
    cosine_decay,
    exp_range,
    get_lr,
    inverse_scaling,
    step_decay,
    triangular,
    triangular2,
)


def test_schedule_values():
    assert [constant(0.3)(t) for t in (0, 10, 10**6)] == [0.3, 0.3, 0.3]
    invscaling = inverse_scaling(0.1)
    assert [invscaling(t) for t in (0, 3, 99)] == pytest.approx([0.1, 0.05, 0.01], rel=1e-15)
    assert inverse_scaling(2.0, power_t=1.0)(3) == 0.5
    assert inverse_scaling(2.0, power_t=0.0)(7) == 2.0
    steps = step_decay(1.0, step_size=3, gamma=0.5)
    assert [steps(t) for t in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    cosine = cosine_decay(0.5, total_steps=10, final_lr=0.1)
    assert cosine(0) == 0.5 and cosine(10) == pytest.approx(0.1) and cosine(25) == pytest.approx(0.1)
    assert cosine(5) == pytest.approx(0.3)  # halfway: the mean of lr and final_lr
    assert cosine(2) == pytest.approx(0.1 + 0.2 * (1 + math.cos(math.pi * 0.2)))
    values = [cosine(t) for t in range(11)]
    assert all(a > b for a, b in itertools.pairwise(values))


def test_schedules_show_and_pickle_as_their_call():
    schedule = inverse_scaling(0.1, power_t=0.25)
    assert repr(schedule) == "inverse_scaling(lr=0.1, power_t=0.25)"
    assert repr(cosine_decay(1.0, 5)) == "cosine_decay(lr=1.0, total_steps=5, final_lr=0.0)"
    clone = pickle.loads(pickle.dumps(schedule))
    assert clone == schedule and clone(7) == schedule(7)
    plateau = pickle.loads(pickle.dumps(ReduceOnPlateau(0.1)))
    assert repr(plateau) == "ReduceOnPlateau(lr=0.1, factor=0.2, patience=2, tol=0.0001, min_lr=0.0)"


_RECORDS = [
    (constant, {"lr": 0.3}),
    (inverse_scaling, {"lr": 0.1, "power_t": 0.25}),
    (step_decay, {"lr": 1.0, "step_size": 3, "gamma": 0.5}),
    (cosine_decay, {"lr": 0.5, "total_steps": 10, "final_lr": 0.1}),
    (triangular, {"base_lr": 0.1, "max_lr": 0.5, "step_size": 3}),
    (triangular2, {"base_lr": 0.1, "max_lr": 0.5, "step_size": 3}),
    (exp_range, {"base_lr": 0.1, "max_lr": 0.5, "step_size": 3, "gamma": 0.9}),
]


@pytest.mark.parametrize(("factory", "arguments"), _RECORDS, ids=[f.__name__ for f, _ in _RECORDS])
def test_a_schedule_is_an_immutable_record_of_its_factorys_arguments(factory, arguments):
    schedule = factory(**arguments)
    assert schedule.as_dict() == arguments  # what a checkpoint stores
    assert factory(**schedule.as_dict()) == schedule
    assert repr(schedule) == f"{factory.__name__}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
    same = factory(**arguments)
    assert same == schedule and hash(same) == hash(schedule) and len({same, schedule}) == 1
    first = next(iter(arguments))
    assert factory(**dict(arguments, **{first: 2 * arguments[first]})) != schedule
    clone = pickle.loads(pickle.dumps(schedule))
    assert clone == schedule and type(clone) is type(schedule)
    assert [clone(t) for t in range(12)] == [schedule(t) for t in range(12)]
    with pytest.raises(AttributeError, match="cannot be changed"):
        setattr(schedule, first, 1.0)
    with pytest.raises(AttributeError, match="cannot be changed"):
        delattr(schedule, first)
    with pytest.raises(AttributeError):
        schedule.other = 1.0  # no __dict__: nothing else can be attached either
    assert getattr(schedule, first) == arguments[first]


def test_get_lr():
    assert get_lr(0.25, 100) == 0.25
    assert get_lr(step_decay(1.0, 2), 4) == pytest.approx(0.01)
    assert isinstance(get_lr(np.float32(0.5), 0), float)


def test_reduce_on_plateau_sequence():
    schedule = ReduceOnPlateau(1.0, factor=0.5, patience=2, tol=0.1)
    losses = [1.0, 0.95, 0.93, 0.5, 0.6, 0.45, 0.2, 0.2, 0.2, 0.2]
    # 1.0 sets best; 0.95 and 0.93 improve by < tol -> 2 bad epochs -> lr 0.5;
    # 0.5 improves; 0.6 bad; 0.45 < best but not by tol: bad -> lr 0.25;
    # 0.2 improves; then three equal losses: bad, bad (-> 0.125), bad.
    expected = [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]
    seen = []
    for loss in losses:
        schedule.observe(loss)
        seen.append(schedule(123))
    assert seen == expected
    assert schedule.best == 0.2 and schedule.bad_epochs == 1


def test_reduce_on_plateau_defaults_divide_by_five_and_respect_min_lr():
    schedule = ReduceOnPlateau(0.1)
    for loss in [1.0, 1.0, 1.0]:
        schedule.observe(loss)
    assert schedule.lr == 0.1 / 5  # bit for bit scikit-learn's lr /= 5 (0.1 * 0.2 differs)
    floored = ReduceOnPlateau(0.1, factor=0.1, patience=1, min_lr=0.005)
    for loss in [1.0, 1.0, 1.0, 1.0]:
        floored.observe(loss)
    assert floored.lr == 0.005


def test_reduce_on_plateau_counts_nan_as_no_improvement():
    schedule = ReduceOnPlateau(1.0, patience=2)
    schedule.observe(1.0)
    schedule.observe(float("nan"))
    assert schedule.bad_epochs == 1 and schedule.best == 1.0


def test_reduce_on_plateau_an_improvement_of_exactly_tol_counts():
    # scikit-learn counts an epoch as bad when loss > best - tol, so loss == best - tol is good.
    schedule = ReduceOnPlateau(1.0, patience=1, tol=0.25)
    schedule.observe(1.0)
    schedule.observe(0.75)
    assert schedule.lr == 1.0 and schedule.bad_epochs == 0
    schedule.observe(0.5 + 2.0**-20)
    assert schedule.lr == 0.2 and schedule.best == 0.5 + 2.0**-20


def test_reduce_on_plateau_reproduces_sklearn_adaptive():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(5,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.5,
        tol=5e-3,
        n_iter_no_change=2,
        max_iter=40,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    schedule = ReduceOnPlateau(0.5, patience=clf.n_iter_no_change + 1, tol=clf.tol)
    for loss in clf.loss_curve_:
        schedule.observe(loss)
    assert clf.n_iter_ == 40  # sklearn did not stop at lr <= 1e-6
    assert schedule.lr < 0.5 / 5  # at least two reductions happened
    assert schedule(0) == clf._optimizer.learning_rate


@pytest.mark.parametrize(
    ("build", "name", "error"),
    [
        (lambda: constant(0), "lr", ValueError),
        (lambda: inverse_scaling(0.1, power_t=-1), "power_t", ValueError),
        (lambda: step_decay(0.1, step_size=0), "step_size", ValueError),
        (lambda: step_decay(0.1, step_size=2.5), "step_size", TypeError),
        (lambda: step_decay(0.1, step_size=2, gamma=2.0), "gamma", ValueError),
        (lambda: cosine_decay(0.1, total_steps=0), "total_steps", ValueError),
        (lambda: cosine_decay(0.1, total_steps=5, final_lr=0.2), "final_lr", ValueError),
        (lambda: ReduceOnPlateau(0.1, factor=1.0), "factor", ValueError),
        (lambda: ReduceOnPlateau(0.1, factor=0.0), "factor", ValueError),
        (lambda: ReduceOnPlateau(0.1, patience=0), "patience", ValueError),
        (lambda: ReduceOnPlateau(0.1, tol=-1.0), "tol", ValueError),
        (lambda: ReduceOnPlateau(0.1, min_lr=0.2), "min_lr", ValueError),
        (lambda: triangular(0.0, 1.0, 2), "base_lr", ValueError),
        (lambda: triangular(0.5, 0.1, 2), "max_lr", ValueError),
        (lambda: triangular2(0.1, 0.5, 0), "step_size", ValueError),
        (lambda: exp_range(0.1, 0.5, 2, gamma=1.5), "gamma", ValueError),
        (lambda: exp_range(0.1, 0.5, 2, gamma=0.0), "gamma", ValueError),
    ],
)
def test_bad_schedule_parameters_name_the_parameter(build, name, error):
    with pytest.raises(error, match=f"'{name}' parameter"):
        build()


def _smith(base_lr, max_lr, step_size, t, scale):
    # Smith (2017), section 3.1, as written there
    cycle = np.floor(1 + t / (2 * step_size))
    x = np.abs(t / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * np.maximum(0, 1 - x) * scale(t, cycle)


def test_cyclical_schedules_follow_smiths_formulas():
    t = np.arange(60)
    cases = [
        (triangular(0.01, 0.1, 5), lambda t, c: 1.0),
        (triangular2(0.01, 0.1, 5), lambda t, c: 1 / 2 ** (c - 1)),
        (exp_range(0.01, 0.1, 5, gamma=0.97), lambda t, c: 0.97**t),
    ]
    for schedule, scale in cases:
        np.testing.assert_allclose([schedule(int(i)) for i in t], _smith(0.01, 0.1, 5, t, scale), rtol=1e-13)


def test_triangular_cycles_between_the_bounds():
    schedule = triangular(0.1, 0.5, step_size=4)
    values = [schedule(t) for t in range(17)]
    assert values[0] == values[8] == values[16] == pytest.approx(0.1)  # a cycle is 2 step_size
    assert values[4] == values[12] == pytest.approx(0.5)
    assert all(0.1 - 1e-15 <= v <= 0.5 + 1e-15 for v in values)
    peaks = [triangular2(0.1, 0.5, step_size=4)(t) for t in (4, 12, 20)]
    assert peaks == pytest.approx([0.5, 0.3, 0.2])  # the amplitude 0.4 halves every cycle
    assert [exp_range(0.1, 0.5, 4, gamma=1.0)(t) for t in range(17)] == pytest.approx(values)


def test_cyclical_schedules_show_and_pickle_as_their_call():
    schedule = exp_range(0.001, 0.006, step_size=2000, gamma=0.99994)
    assert repr(schedule) == "exp_range(base_lr=0.001, max_lr=0.006, step_size=2000, gamma=0.99994)"
    assert repr(triangular2(0.1, 0.5, 3)) == "triangular2(base_lr=0.1, max_lr=0.5, step_size=3)"
    clone = pickle.loads(pickle.dumps(schedule))
    assert clone == schedule and clone(123) == schedule(123)
    assert triangular(0.1, 0.5, 3) != triangular2(0.1, 0.5, 3)
    assert get_lr(triangular(0.1, 0.5, 3), 3) == 0.5
