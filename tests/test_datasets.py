import subprocess
import sys

import numpy as np
import pytest

from deltaprop.datasets import (
    available,
    blobs,
    circles,
    dataset_names,
    load,
    moons,
    regression_curve,
    regression_function,
    spirals,
    xor,
)

CLASSIFIERS = [xor, moons, circles, spirals, blobs]
GENERATORS = [*CLASSIFIERS, regression_curve]


@pytest.mark.parametrize("generator", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(generator):
    X1, y1 = generator(n=50, random_state=3)
    X2, y2 = generator(n=50, random_state=3)
    X3, _ = generator(n=50, random_state=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_generator_is_drawn_from_and_equal_generators_give_equal_data(generator):
    rng = np.random.default_rng(5)
    X1, _ = generator(n=20, random_state=rng)
    X2, _ = generator(n=20, random_state=rng)  # the generator has moved on
    X3, _ = generator(n=20, random_state=np.random.default_rng(5))
    assert not np.array_equal(X1, X2)
    np.testing.assert_array_equal(X1, X3)


@pytest.mark.parametrize(
    ("generator", "d", "K"),
    [(xor, 2, 2), (moons, 2, 2), (circles, 2, 2), (spirals, 2, 3), (blobs, 2, 3)],
)
@pytest.mark.parametrize("n", [1, 7, 101])
def test_classification_shapes_and_balanced_classes(generator, d, K, n):
    X, y = generator(n=n, random_state=0)
    assert X.shape == (n, d) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=K)
    assert len(counts) == K and counts.sum() == n
    assert counts.max() - counts.min() <= 1


def test_samples_are_shuffled_not_sorted_by_class():
    _, y = moons(100, random_state=0)
    assert np.any(np.diff(y) < 0) and np.any(np.diff(y) > 0)


def test_xor_without_noise_is_the_xor_of_the_signs():
    X, y = xor(400, noise=0.0, random_state=1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    assert np.all(np.abs(X) >= 0.1) and np.all(np.abs(X) <= 1.0)
    quadrants = {(bool(a), bool(b)) for a, b in X > 0}
    assert len(quadrants) == 4


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = moons(300, noise=0.0, random_state=2)
    centres = np.array([[-0.5, -0.25], [0.5, 0.25]])
    R = X - centres[y]
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0)
    assert np.all(R[y == 0, 1] >= -1e-12)  # upper half circle
    assert np.all(R[y == 1, 1] <= 1e-12)  # lower half circle


@pytest.mark.parametrize("factor", [0.3, 0.5, 0.9])
def test_circles_without_noise_have_the_exact_radii(factor):
    X, y = circles(200, noise=0.0, factor=factor, random_state=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], factor)


def test_spirals_without_noise_follow_their_arms():
    K, turns = 4, 0.75
    X, y = spirals(200, n_classes=K, noise=0.0, turns=turns, random_state=0)
    r = np.linalg.norm(X, axis=1)
    assert np.all(r <= 1.0)
    theta = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * y / K + 2 * np.pi * turns * r
    wrapped = np.angle(np.exp(1j * (theta - expected)))  # the difference modulo 2 pi
    np.testing.assert_allclose(wrapped[r > 1e-9], 0.0, atol=1e-9)


def test_noise_moves_the_points_off_the_geometry():
    X, y = circles(200, noise=0.1, random_state=0)
    r = np.linalg.norm(X, axis=1)
    assert 0.05 < np.std(r[y == 0] - 1.0) < 0.15


def test_blobs_without_noise_collapse_onto_distinct_centres():
    X, y = blobs(60, n_classes=3, n_features=5, noise=0.0, random_state=0)
    assert X.shape == (60, 5)
    centres = np.array([X[y == k][0] for k in range(3)])
    np.testing.assert_array_equal(X, centres[y])
    assert len({tuple(c) for c in centres}) == 3
    assert np.all(np.abs(centres) <= 5.0)


def test_regression_curve_without_noise_is_the_function():
    X, y = regression_curve(100, noise=0.0, random_state=0)
    assert X.shape == (100, 1) and y.shape == (100,) and y.dtype == np.float64
    assert np.all((X >= -3) & (X <= 3))
    np.testing.assert_array_equal(y, np.sin(1.5 * X[:, 0]) + 0.3 * X[:, 0])
    np.testing.assert_array_equal(y, regression_function(X[:, 0]))


def test_regression_curve_noise_has_the_given_scale():
    X, y = regression_curve(4000, noise=0.5, random_state=0)
    residual = y - regression_function(X[:, 0])
    assert np.std(residual) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize(("kwargs", "match"), [({"n": 0}, "'n'"), ({"noise": -0.1}, "'noise'")])
def test_bad_sizes_and_noise_are_rejected(generator, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generator(**kwargs)


def test_bad_types_and_parameters_are_rejected():
    with pytest.raises(TypeError, match="'n'"):
        moons(n=2.5)
    with pytest.raises(ValueError, match="'factor'"):
        circles(factor=1.0)
    with pytest.raises(ValueError, match="'n_classes'"):
        spirals(n_classes=0)
    with pytest.raises(ValueError, match="'n_features'"):
        blobs(n_features=0)
    with pytest.raises(TypeError, match="random_state"):
        xor(random_state="seed")


@pytest.mark.parametrize(
    ("name", "n", "d", "K"),
    [("iris", 150, 4, 3), ("digits", 1797, 64, 10), ("wine", 178, 13, 3), ("breast_cancer", 569, 30, 2)],
)
def test_load_bundled_classification_sets(name, n, d, K):
    X, y = load(name)
    assert X.shape == (n, d) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert sorted(set(y.tolist())) == list(range(K))


def test_load_bundled_regression_set():
    X, y = load("diabetes")
    assert X.shape == (442, 10) and X.dtype == np.float64
    assert y.dtype == np.float64 and len(np.unique(y)) > 100


def test_load_generated_sets_by_name_with_their_defaults():
    X, y = load("spirals", random_state=0)
    X2, y2 = spirals(random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_unknown_name_lists_every_name():
    with pytest.raises(ValueError, match="Got 'mnist'") as info:
        load("mnist")
    for name in dataset_names():
        assert repr(name) in str(info.value)
    with pytest.raises(TypeError, match="'name'"):
        load(3)


def test_available_describes_what_load_returns():
    infos = available()
    assert [info.name for info in infos] == dataset_names()
    for info in infos:
        name, kind, n, d, description = info  # plain tuples for a table
        assert kind in ("classification", "regression") and description
        X, y = load(name, random_state=0)
        assert X.shape == (n, d)
        assert y.dtype == (np.int64 if kind == "classification" else np.float64)


def test_module_import_does_not_import_scikit_learn():
    # Whatever the package root imports, importing this module must add no scikit-learn.
    code = (
        "import sys, deltaprop; before = 'sklearn' in sys.modules; import deltaprop.datasets; "
        "print(before, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert after == before
