import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deltaprop.activations import (
    ACTIVATIONS,
    Activation,
    activation_names,
    get_activation,
)

finite = st.floats(-30, 30, allow_nan=False, width=64)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_matches_central_difference(name):
    act = ACTIVATIONS[name]
    a = np.linspace(-3, 3, 61) + 0.0123  # keep off the kink at 0
    eps = 1e-6
    numerical = (act.f(a + eps) - act.f(a - eps)) / (2 * eps)
    np.testing.assert_allclose(act.df(a, act.f(a)), numerical, rtol=1e-6, atol=1e-8)


@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_closed_form_identities(a):
    s = ACTIVATIONS["sigmoid"]
    np.testing.assert_allclose(s.df(a, s.f(a)), s.f(a) * (1 - s.f(a)))
    np.testing.assert_allclose(s.f(a), 1 / (1 + np.exp(-a)), rtol=1e-15)
    t = ACTIVATIONS["tanh"]
    np.testing.assert_allclose(t.df(a, t.f(a)), 1 - np.tanh(a) ** 2)
    r = ACTIVATIONS["relu"]
    np.testing.assert_array_equal(r.df(a, r.f(a)), (a > 0).astype(float))
    sp = ACTIVATIONS["softplus"]
    np.testing.assert_allclose(sp.f(a), np.log1p(np.exp(a)), rtol=1e-14)


def test_relu_weak_derivative_at_zero_is_zero():
    relu = ACTIVATIONS["relu"]
    a = np.array([-1.0, 0.0, -0.0, 1e-300, 2.0])
    np.testing.assert_array_equal(relu.df(a, relu.f(a)), [0.0, 0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softplus_are_safe_at_extremes(dtype):
    a = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    s = ACTIVATIONS["sigmoid"].f(a)
    assert s.dtype == dtype
    np.testing.assert_array_equal(s[[0, 2, 4]], np.array([0.0, 0.5, 1.0], dtype=dtype))
    np.testing.assert_allclose(s[1], np.exp(-50.0), rtol=1e-6)
    sp = ACTIVATIONS["softplus"].f(a)
    assert sp.dtype == dtype
    np.testing.assert_array_equal(sp[[0, 4]], np.array([0.0, 1000.0], dtype=dtype))
    assert np.isfinite(ACTIVATIONS["gelu"].f(a)).all()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(name, dtype):
    act = ACTIVATIONS[name]
    a = np.linspace(-3, 3, 7, dtype=dtype)
    z = act.f(a)
    assert z.dtype == dtype
    assert act.df(a, z).dtype == dtype


def test_logistic_is_sigmoid():
    assert get_activation("logistic") is ACTIVATIONS["sigmoid"]


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="softplus2") as info:
        get_activation("softplus2")
    for name in activation_names():
        assert name in str(info.value)


def test_wrong_type_is_type_error():
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)


def test_user_defined_activation_passes_through():
    square = Activation("square", lambda a: a * a, lambda a, z: 2 * a)
    assert get_activation(square) is square
    with pytest.raises(TypeError, match="callable"):
        get_activation(Activation("bad", None, None))


@settings(max_examples=50)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(-500, 500)))
def test_relu_family_derivatives_are_binary_or_slope(a):
    r = ACTIVATIONS["relu"]
    assert set(np.unique(r.df(a, r.f(a)))) <= {0.0, 1.0}
    lr = ACTIVATIONS["leaky_relu"]
    assert set(np.unique(lr.df(a, lr.f(a)))) <= {0.01, 1.0}
