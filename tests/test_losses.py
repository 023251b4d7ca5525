import numpy as np
import pytest

from deltaprop.losses import (
    OUTPUTS,
    OutputLoss,
    builtin_output_name,
    get_output,
    mean_loss,
    output_delta,
    output_names,
)


def _softmax_ce_reference(a, Y):
    p = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    return -(Y * np.log(p)).sum(axis=1)


def test_softmax_sums_to_one_and_matches_definition():
    a = np.random.default_rng(0).normal(size=(6, 4))
    f = OUTPUTS["softmax"].f(a)
    np.testing.assert_allclose(f.sum(axis=1), 1.0)
    np.testing.assert_allclose(f, np.exp(a) / np.exp(a).sum(axis=1, keepdims=True))


def test_cross_entropy_matches_definition():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 4))
    Y = np.eye(4)[rng.integers(0, 4, 6)]
    np.testing.assert_allclose(OUTPUTS["softmax"].per_sample(a, Y), _softmax_ce_reference(a, Y))


def test_squared_error_is_half_sum_over_outputs():
    a = np.array([[1.0, 2.0], [0.0, -1.0]])
    Y = np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(OUTPUTS["identity"].per_sample(a, Y), [2.5, 2.5])
    assert mean_loss(OUTPUTS["identity"], a, Y) == 2.5


def test_binary_cross_entropy_matches_definition():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 3))
    Y = rng.integers(0, 2, (5, 3)).astype(float)
    p = 1 / (1 + np.exp(-a))
    ref = -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(OUTPUTS["sigmoid"].per_sample(a, Y), ref)


def test_huge_logits_give_finite_loss_and_no_warning():
    a = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])
    Y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    loss = OUTPUTS["softmax"].per_sample(a, Y)
    np.testing.assert_allclose(loss, [0.0, 1e4])
    f = OUTPUTS["softmax"].f(a)
    assert np.isfinite(f).all()
    assert np.isfinite(OUTPUTS["sigmoid"].per_sample(a, np.ones_like(a))).all()


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_delta_is_derivative_of_loss_wrt_logits(name):
    """The canonical-link identity dl/da^(D) = f - Y, checked by central differences."""
    out = OUTPUTS[name]
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 3))
    Y = {
        "softmax": np.eye(3)[rng.integers(0, 3, 4)],
        "identity": rng.normal(size=(4, 3)),
        "sigmoid": rng.integers(0, 2, (4, 3)).astype(float),
    }[name]
    eps = 1e-6
    numerical = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        plus, minus = a.copy(), a.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numerical[idx] = (out.per_sample(plus, Y).sum() - out.per_sample(minus, Y).sum()) / (2 * eps)
    np.testing.assert_allclose(output_delta(out.f(a), Y), numerical, rtol=1e-6, atol=1e-9)


def test_weighted_mean_loss():
    out = OUTPUTS["identity"]
    a = np.array([[1.0], [3.0]])
    Y = np.zeros((2, 1))
    assert mean_loss(out, a, Y, np.array([1.0, 0.0])) == 0.5
    assert mean_loss(out, a, Y, np.array([1.0, 1.0])) == mean_loss(out, a, Y)


def test_unknown_output_lists_names():
    with pytest.raises(ValueError, match="relu") as info:
        get_output("relu")
    for name in output_names():
        assert name in str(info.value)
    with pytest.raises(TypeError):
        get_output(None)


@pytest.mark.parametrize("shape", [(2000, 5), (3, 5), (500, 40), (64, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_numpys_and_keeps_the_dtype(shape, dtype):
    from deltaprop.losses import _logsumexp

    a = np.random.default_rng(1).normal(scale=30.0, size=shape).astype(dtype)
    a[0, -1] = 1e4  # no overflow
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    m = a.max(axis=1, keepdims=True)
    expected = (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]
    np.testing.assert_allclose(_logsumexp(a), expected, rtol=rtol)
    assert _logsumexp(a).dtype == dtype


def test_builtin_output_name_tells_registry_units_from_user_defined_ones():
    assert [builtin_output_name(o) for o in OUTPUTS.values()] == list(OUTPUTS)
    own = OutputLoss("softmax", "cross_entropy", lambda a: a, lambda a, Y: (a - Y).sum(axis=1))
    assert builtin_output_name(own) is None  # a built-in name is not enough
