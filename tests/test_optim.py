import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from deltaprop import optim, schedules
from deltaprop.network import Params
from deltaprop.optim import (
    AdamState,
    EmptyState,
    GradientTransformation,
    MomentumState,
    ReduceOnPlateau,
    StepState,
    adam,
    adamw,
    apply_updates,
    by_name,
    chain,
    clip_by_global_norm,
    cosine_decay,
    gd,
    global_norm,
    inverse_scaling,
    momentum,
    state_from_arrays,
    state_to_arrays,
    step_decay,
)

SIZES = [3, 4, 2]


def _params(seed=0, dtype=np.float64, scale=1.0):
    """Random Params of a [3, 4, 2] network: W^(1) (4, 3), W^(2) (2, 4), b^(1) (4,), b^(2) (2,)."""
    rng = np.random.default_rng(seed)
    W = [scale * rng.normal(size=(m, n)) for n, m in itertools.pairwise(SIZES)]
    b = [scale * rng.normal(size=m) for m in SIZES[1:]]
    return Params([w.astype(dtype) for w in W], [v.astype(dtype) for v in b])


def _scalar(g):
    """Params with one 1x1 weight and one bias, both equal to g."""
    return Params([np.array([[g]])], [np.array([g])])


def _run(opt, grads_seq, params=None):
    """Feed a sequence of gradients; return the list of updates and the final state."""
    params = params if params is not None else grads_seq[0]
    state = opt.init(params)
    updates = []
    for g in grads_seq:
        u, state = opt.update(g, state, params)
        updates.append(u)
    return updates, state


def _leaves(tree):
    return [*tree.W, *tree.b]


def _assert_params_equal(got, want):
    for x, y in zip(_leaves(got), _leaves(want), strict=True):
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------- closed forms
def test_gd_is_minus_lr_times_gradient():
    updates, state = _run(gd(0.1), [_scalar(1.0), _scalar(-2.0), _scalar(4.0)])
    assert [float(u.W[0][0, 0]) for u in updates] == pytest.approx([-0.1, 0.2, -0.4], abs=1e-15)
    assert [float(u.b[0][0]) for u in updates] == pytest.approx([-0.1, 0.2, -0.4], abs=1e-15)
    assert state == StepState(step=3)


def test_gd_with_a_schedule_uses_the_step_count():
    updates, _ = _run(gd(lambda step: 1.0 / (step + 1)), [_scalar(6.0)] * 3)
    assert [float(u.W[0][0, 0]) for u in updates] == pytest.approx([-6.0, -3.0, -2.0])


def test_momentum_first_steps_by_hand():
    grads = [_scalar(1.0), _scalar(2.0), _scalar(-1.0)]
    plain, state = _run(momentum(0.1, beta=0.5), grads)
    # v1 = -0.1;  v2 = 0.5 (-0.1) - 0.2 = -0.25;  v3 = 0.5 (-0.25) + 0.1 = -0.025
    assert [float(u.W[0][0, 0]) for u in plain] == pytest.approx([-0.1, -0.25, -0.025], abs=1e-15)
    assert float(state.velocity.b[0][0]) == pytest.approx(-0.025, abs=1e-15)
    assert state.step == 3
    nest, state = _run(momentum(0.1, beta=0.5, nesterov=True), grads)
    # u = 0.5 v_new - 0.1 g:  -0.05 - 0.1,  -0.125 - 0.2,  -0.0125 + 0.1
    assert [float(u.W[0][0, 0]) for u in nest] == pytest.approx([-0.15, -0.325, 0.0875], abs=1e-15)
    # The velocity itself is the same recursion in both variants.
    assert float(state.velocity.W[0][0, 0]) == pytest.approx(-0.025, abs=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_zero_is_gd_exactly(nesterov):
    grads = [_params(seed) for seed in range(5)]
    ups_m, _ = _run(momentum(0.3, beta=0.0, nesterov=nesterov), grads)
    ups_g, _ = _run(gd(0.3), grads)
    for um, ug in zip(ups_m, ups_g, strict=True):
        _assert_params_equal(um, ug)


def test_nesterov_is_beta_v_new_minus_lr_g():
    grads = [_params(seed) for seed in range(6)]
    plain, _ = _run(momentum(0.05, beta=0.8), grads)
    nest, _ = _run(momentum(0.05, beta=0.8, nesterov=True), grads)
    for u_plain, u_nest, g in zip(plain, nest, grads, strict=True):
        # plain's update is v_new, so nesterov's is beta * plain - lr * g.
        for up, un, gg in zip(_leaves(u_plain), _leaves(u_nest), _leaves(g), strict=True):
            np.testing.assert_allclose(un, 0.8 * up - 0.05 * gg, rtol=0, atol=1e-15)
            assert not np.allclose(un, up)


def test_adam_step_one_is_minus_lr_sign_g():
    lr, b2, eps = 0.01, 0.999, 1e-8
    g = _params(3)
    (u,), _ = _run(adam(lr, b2=b2, eps=eps), [g])
    for ul, gl in zip(_leaves(u), _leaves(g), strict=True):
        # u = -lr g / (|g| + eps / sqrt(1 - b2)) exactly, so |u + lr sign g| <= lr eps / (sqrt(1-b2) |g|).
        np.testing.assert_allclose(ul, -lr * gl / (np.abs(gl) + eps / math.sqrt(1 - b2)), rtol=1e-14)
        bound = lr * eps / (math.sqrt(1 - b2) * np.abs(gl))
        assert (np.abs(ul + lr * np.sign(gl)) <= bound).all()


def test_adam_first_steps_by_hand():
    lr = 0.1
    opt = adam(lr, b1=0.5, b2=0.75, eps=1e-12)
    # Constant g = 2: m1 = 1, v1 = 1, alpha1 = lr sqrt(0.25) / 0.5 = lr  -> u1 = -lr.
    # m2 = 1.5, v2 = 1.75, alpha2 = lr sqrt(0.4375) / 0.75 -> u2 = -lr sqrt(0.4375 / 1.75) 2 = -lr.
    (u1, u2), state = _run(opt, [_scalar(2.0), _scalar(2.0)])
    assert float(u1.W[0][0, 0]) == pytest.approx(-lr, rel=1e-11)
    assert float(u2.W[0][0, 0]) == pytest.approx(-lr, rel=1e-11)
    assert (state.step, float(state.m.W[0][0, 0]), float(state.v.b[0][0])) == (2, 1.5, 1.75)
    # g = 2 then 0: m2 = 0.5, v2 = 0.75 -> u2 = -lr sqrt(0.4375 / 0.75) 0.5 / 0.75.
    (_, u2), _ = _run(opt, [_scalar(2.0), _scalar(0.0)])
    assert float(u2.b[0][0]) == pytest.approx(-lr * math.sqrt(0.4375 / 0.75) * 0.5 / 0.75, rel=1e-11)


def test_adamw_decays_weights_not_biases_by_the_scheduled_lr():
    p = Params([np.array([[2.0, -4.0]])], [np.array([3.0])])
    grads = [Params([np.array([[1.0, 1.0]])], [np.array([1.0])])] * 3
    schedule = step_decay(0.1, step_size=1, gamma=0.5)  # 0.1, 0.05, 0.025
    ups_w, state_w = _run(adamw(schedule, weight_decay=0.2), grads, params=p)
    ups_a, state_a = _run(adam(schedule), grads, params=p)
    for t, (uw, ua) in enumerate(zip(ups_w, ups_a, strict=True)):
        np.testing.assert_array_equal(uw.b[0], ua.b[0])
        np.testing.assert_allclose(uw.W[0], ua.W[0] - schedule(t) * 0.2 * p.W[0], rtol=1e-15)
    _assert_params_equal(state_w.m, state_a.m)


def test_adamw_without_decay_is_adam_and_needs_params():
    grads, p = [_params(s) for s in range(4)], _params(9)
    ups_w, _ = _run(adamw(0.01, weight_decay=0.0), grads, params=p)
    ups_a, _ = _run(adam(0.01), grads, params=p)
    for uw, ua in zip(ups_w, ups_a, strict=True):
        _assert_params_equal(uw, ua)
    opt = adamw()
    with pytest.raises(ValueError, match="params"):
        opt.update(p, opt.init(p), None)


# ------------------------------------------------------------ scikit-learn
def _to_sklearn(tree):
    """scikit-learn's list: coefs_ (W^(h) transposed, (M_{h-1}, M_h)) then intercepts_."""
    return [w.T.copy() for w in tree.W] + [v.copy() for v in tree.b]


def _assert_matches_sklearn(got_params, sk_params):
    for got, want in zip(_to_sklearn(got_params), sk_params, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("beta", "nesterov"), [(0.9, True), (0.9, False), (0.0, True), (0.5, False)])
def test_momentum_matches_sklearn_sgd_optimizer(beta, nesterov):
    params = _params(100)
    sk_params = _to_sklearn(params)
    sk = SGDOptimizer(sk_params, learning_rate_init=0.05, momentum=beta, nesterov=nesterov)
    opt = momentum(0.05, beta=beta, nesterov=nesterov)
    state = opt.init(params)
    for seed in range(20):
        grads = _params(seed)
        sk.update_params(sk_params, _to_sklearn(grads))
        updates, state = opt.update(grads, state, params)
        params = apply_updates(params, updates)
        _assert_matches_sklearn(params, sk_params)
    _assert_matches_sklearn(state.velocity, sk.velocities)


def test_inverse_scaling_matches_sklearn_invscaling_per_update():
    params = _params(100)
    sk_params = _to_sklearn(params)
    sk = SGDOptimizer(sk_params, 0.2, lr_schedule="invscaling", momentum=0.9, nesterov=True, power_t=0.3)
    opt = by_name("sgd", inverse_scaling(0.2, power_t=0.3))
    state = opt.init(params)
    for step in range(20):
        grads = _params(step)
        sk.update_params(sk_params, _to_sklearn(grads))
        sk.iteration_ends(step + 1)  # called with the number of updates so far, t counts updates
        updates, state = opt.update(grads, state, params)
        params = apply_updates(params, updates)
        _assert_matches_sklearn(params, sk_params)


@pytest.mark.parametrize(("b1", "b2", "eps"), [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)])
def test_adam_matches_sklearn_adam_optimizer(b1, b2, eps):
    params = _params(100)
    sk_params = _to_sklearn(params)
    sk = AdamOptimizer(sk_params, learning_rate_init=0.01, beta_1=b1, beta_2=b2, epsilon=eps)
    opt = adam(0.01, b1=b1, b2=b2, eps=eps)
    state = opt.init(params)
    for seed in range(20):
        grads = _params(seed, scale=10.0 ** (seed % 3 - 1))
        sk.update_params(sk_params, _to_sklearn(grads))
        updates, state = opt.update(grads, state, params)
        params = apply_updates(params, updates)
        _assert_matches_sklearn(params, sk_params)
    assert state.step == sk.t == 20
    _assert_matches_sklearn(state.m, sk.ms)
    _assert_matches_sklearn(state.v, sk.vs)


# ------------------------------------------------------------- clip and chain
def test_clip_leaves_small_gradients_untouched():
    g = _params(0)
    norm = global_norm(g)
    clipped, state = clip_by_global_norm(norm * 1.01).update(g, EmptyState(), g)
    _assert_params_equal(clipped, g)
    assert state == EmptyState()


def test_clip_scales_large_gradients_to_max_norm_over_w_and_b():
    g = Params([np.array([[3.0]]), np.zeros((1, 1))], [np.zeros(1), np.array([4.0])])
    assert global_norm(g) == 5.0
    clipped, _ = clip_by_global_norm(2.0).update(g, EmptyState(), g)
    assert global_norm(clipped) == pytest.approx(2.0, rel=1e-15)
    assert float(clipped.W[0][0, 0]) == pytest.approx(1.2) and float(clipped.b[1][0]) == pytest.approx(1.6)
    big = _params(1, scale=100.0)
    clipped, _ = clip_by_global_norm(0.5).update(big, EmptyState(), big)
    assert global_norm(clipped) == pytest.approx(0.5, rel=1e-12)
    for c, b in zip(_leaves(clipped), _leaves(big), strict=True):  # same direction
        np.testing.assert_allclose(c, b * (0.5 / global_norm(big)), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(scale=st.floats(1e-6, 1e6), max_norm=st.floats(1e-3, 1e3))
def test_clipped_norm_never_exceeds_max_norm(scale, max_norm):
    g = _params(2, scale=scale)
    clipped, _ = clip_by_global_norm(max_norm).update(g, EmptyState(), g)
    assert global_norm(clipped) <= max_norm * (1 + 1e-12)
    assert global_norm(clipped) == pytest.approx(min(max_norm, global_norm(g)), rel=1e-12)


def test_chain_applies_in_order():
    g = Params([np.array([[0.6]])], [np.array([0.8])])  # global norm 1
    clip_then_gd = chain(clip_by_global_norm(1.0), gd(10.0))
    gd_then_clip = chain(gd(10.0), clip_by_global_norm(1.0))
    (u1,), s1 = _run(clip_then_gd, [g])
    (u2,), s2 = _run(gd_then_clip, [g])
    assert global_norm(u1) == pytest.approx(10.0) and global_norm(u2) == pytest.approx(1.0)
    assert s1 == (EmptyState(), StepState(1)) and s2 == (StepState(1), EmptyState())


def test_chain_passes_params_on_and_keeps_each_state():
    p, grads = _params(5), [_params(s, scale=50.0) for s in range(3)]
    opt = chain(clip_by_global_norm(1.0), adamw(0.01, weight_decay=0.1))
    ups, state = _run(opt, grads, params=p)
    clip = clip_by_global_norm(1.0)
    clipped = [clip.update(g, EmptyState(), p)[0] for g in grads]
    ups_ref, state_ref = _run(adamw(0.01, weight_decay=0.1), clipped, params=p)
    for u, r in zip(ups, ups_ref, strict=True):
        _assert_params_equal(u, r)
    assert isinstance(state, tuple) and isinstance(state[1], AdamState)
    _assert_params_equal(state[1].v, state_ref.v)


def test_chain_rejects_what_is_not_a_transformation():
    with pytest.raises(ValueError, match="at least one"):
        chain()
    with pytest.raises(TypeError, match="argument 1"):
        chain(gd(0.1), "adam")


# -------------------------------------------------------------- convergence
def _quadratic(seed=0, n=30, d=5):
    """0.5 ||A w + b - c||^2 with W^(1) = w^T (1, d) and b^(1) (1,): gradient and minimiser."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    c = rng.normal(size=n)
    A1 = np.hstack([A, np.ones((n, 1))])
    solution = np.linalg.lstsq(A1, c, rcond=None)[0]

    def grad(p):
        r = A @ p.W[0][0] + p.b[0][0] - c
        return Params([(A.T @ r)[None, :]], [np.array([r.sum()])])

    L = float(np.linalg.eigvalsh(A1.T @ A1).max())  # Lipschitz constant of the gradient
    return grad, solution, L, Params([np.zeros((1, d))], [np.zeros(1)])


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adam"])
def test_optimisers_converge_on_a_quadratic(name):
    grad, solution, L, params = _quadratic()
    steps = 3000
    lrs = {
        "gd": 1.0 / L,
        "momentum": 0.5 / L,
        "nesterov": 0.5 / L,
        "adam": cosine_decay(0.05, total_steps=steps),
    }
    opt = by_name(name, lrs[name])
    state = opt.init(params)
    for _ in range(steps):
        updates, state = opt.update(grad(params), state, params)
        params = apply_updates(params, updates)
    found = np.concatenate([params.W[0][0], params.b[0]])
    np.testing.assert_allclose(found, solution, atol=1e-6)


def test_schedules_are_importable_from_optim():
    assert optim.cosine_decay is schedules.cosine_decay and optim.get_lr is schedules.get_lr
    assert optim.ReduceOnPlateau is schedules.ReduceOnPlateau


def test_reduce_on_plateau_drives_an_optimiser():
    schedule = ReduceOnPlateau(1.0, factor=0.5, patience=1)
    opt = gd(schedule)
    g = _scalar(1.0)
    state = opt.init(g)
    u1, state = opt.update(g, state, g)
    schedule.observe(1.0)
    schedule.observe(1.0)  # no improvement -> lr 0.5
    u2, state = opt.update(g, state, g)
    assert (float(u1.W[0][0, 0]), float(u2.W[0][0, 0])) == (-1.0, -0.5)


# ------------------------------------------------------------------- dtypes
OPTIMISERS = {
    "gd": lambda: gd(0.1),
    "momentum": lambda: momentum(0.1, nesterov=True),
    "adam": lambda: adam(0.01),
    "adamw": lambda: adamw(step_decay(0.01, 2)),
    "chain": lambda: chain(clip_by_global_norm(0.1), momentum(inverse_scaling(0.1))),
}


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_float32_stays_float32(name):
    opt = OPTIMISERS[name]()
    params = _params(0, dtype=np.float32)
    state = opt.init(params)
    for seed in range(3):
        updates, state = opt.update(_params(seed + 1, dtype=np.float32), state, params)
        params = apply_updates(params, updates)
        assert all(leaf.dtype == np.float32 for leaf in _leaves(updates) + _leaves(params))
    assert all(arr.dtype in (np.float32, np.int64) for arr in state_to_arrays(state).values())


def test_apply_updates_keeps_the_parameter_dtype_and_builds_new_arrays():
    params = _params(0, dtype=np.float32)
    new = apply_updates(params, _params(1))
    assert all(leaf.dtype == np.float32 for leaf in _leaves(new))
    np.testing.assert_allclose(new.W[0], params.W[0] + _params(1).W[0].astype(np.float32), rtol=1e-6)
    assert all(n is not p for n, p in zip(_leaves(new), _leaves(params), strict=True))


# -------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_state_round_trip_continues_identically(name, tmp_path):
    opt = OPTIMISERS[name]()
    params = _params(0)
    state = opt.init(params)
    for seed in range(3):
        _, state = opt.update(_params(seed + 1), state, params)
    np.savez(tmp_path / "opt.npz", **state_to_arrays(state, prefix="optimizer"))
    with np.load(tmp_path / "opt.npz") as saved:
        restored = state_from_arrays(opt.init(params), saved, prefix="optimizer")
    assert type(restored) is type(state)
    g = _params(9)
    u_orig, s_orig = opt.update(g, state, params)
    u_rest, s_rest = opt.update(g, restored, params)
    _assert_params_equal(u_rest, u_orig)
    a, b = state_to_arrays(s_orig), state_to_arrays(s_rest)
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_state_keys_are_flat_and_deterministic():
    state = chain(clip_by_global_norm(1.0), momentum(0.1)).init(_params(0))
    arrays = state_to_arrays(state)
    assert list(arrays) == [
        "1.step",
        "1.velocity.W.0",
        "1.velocity.W.1",
        "1.velocity.b.0",
        "1.velocity.b.1",
    ]
    assert arrays["1.step"].shape == () and arrays["1.step"].dtype == np.int64
    assert isinstance(state_from_arrays(state, arrays)[1], MomentumState)


def test_state_from_arrays_casts_to_the_template_dtype():
    opt = adam()
    state64 = opt.init(_params(0))
    template32 = opt.init(_params(0, dtype=np.float32))
    restored = state_from_arrays(template32, state_to_arrays(state64))
    assert restored.m.W[0].dtype == np.float32 and restored.step == 0


def test_state_from_arrays_names_the_bad_key():
    opt = momentum(0.1)
    template = opt.init(_params(0))
    arrays = state_to_arrays(template)
    missing = {k: v for k, v in arrays.items() if k != "velocity.b.1"}
    with pytest.raises(ValueError, match=r"'velocity\.b\.1'.*missing"):
        state_from_arrays(template, missing)
    with pytest.raises(ValueError, match=r"'velocity\.W\.0' has shape \(3, 4\).*\(4, 3\)"):
        state_from_arrays(template, {**arrays, "velocity.W.0": np.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"'step' has shape \(1,\)"):
        state_from_arrays(template, {**arrays, "step": np.zeros(1)})
    with pytest.raises(ValueError, match=r"\['m\.W\.0'\] do not belong"):
        state_from_arrays(template, {**arrays, "m.W.0": np.zeros((4, 3))})
    # Keys outside the prefix are somebody else's.
    prefixed = state_to_arrays(template, prefix="opt")
    assert state_from_arrays(template, {**prefixed, "W.0": np.zeros(2)}, prefix="opt").step == 0


# ------------------------------------------------------------------- by_name
def test_by_name_builds_each_optimiser():
    grads = [_params(s) for s in range(3)]
    pairs = {
        "gd": gd(0.1),
        "sgd": momentum(0.1, beta=0.9, nesterov=True),
        "momentum": momentum(0.1, beta=0.9),
        "nesterov": momentum(0.1, nesterov=True),
        "adam": adam(0.1),
        "adamw": adamw(0.1),
    }
    for name, reference in pairs.items():
        ups, _ = _run(by_name(name, 0.1), grads, params=_params(7))
        ups_ref, _ = _run(reference, grads, params=_params(7))
        for u, r in zip(ups, ups_ref, strict=True):
            _assert_params_equal(u, r)
    assert isinstance(by_name("sgd", 0.1, beta=0.5, nesterov=False), GradientTransformation)
    ups, _ = _run(by_name("sgd", 0.1, beta=0.0), grads)
    ups_gd, _ = _run(gd(0.1), grads)
    _assert_params_equal(ups[-1], ups_gd[-1])


def test_by_name_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match=r"\['gd', 'sgd', 'momentum', 'nesterov', 'adam', 'adamw'\]"):
        by_name("rmsprop", 0.1)
    with pytest.raises(TypeError, match=r"'gd' does not take \['beta'\]"):
        by_name("gd", 0.1, beta=0.9)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("build", "name", "error"),
    [
        (lambda: gd(0.0), "learning_rate", ValueError),
        (lambda: gd(-1), "learning_rate", ValueError),
        (lambda: gd("fast"), "learning_rate", TypeError),
        (lambda: gd(float("nan")), "learning_rate", ValueError),
        (lambda: momentum(0.1, beta=1.0), "beta", ValueError),
        (lambda: momentum(0.1, beta=-0.1), "beta", ValueError),
        (lambda: momentum(0.1, nesterov=1), "nesterov", TypeError),
        (lambda: adam(b1=1.0), "b1", ValueError),
        (lambda: adam(b2=1.5), "b2", ValueError),
        (lambda: adam(eps=0.0), "eps", ValueError),
        (lambda: adamw(weight_decay=-0.1), "weight_decay", ValueError),
        (lambda: clip_by_global_norm(0.0), "max_norm", ValueError),
        (lambda: by_name("adam", 0.0), "learning_rate", ValueError),
    ],
)
def test_bad_hyper_parameters_name_the_parameter(build, name, error):
    with pytest.raises(error, match=f"'{name}' parameter"):
        build()


def test_one_walker_maps_every_params_of_a_state():
    from deltaprop.optim._state import map_params, map_tree

    opt = chain(clip_by_global_norm(1.0), momentum(0.1), adam(0.01))
    state = opt.init(_params(0))  # (EmptyState, MomentumState, AdamState)
    doubled = map_params(state, lambda p: Params([2 * w for w in p.W], [2 * v for v in p.b]))
    assert type(doubled) is tuple and [type(s) for s in doubled] == [type(s) for s in state]
    assert doubled[1].step == 0 and doubled[2].step == 0  # steps are kept as they are
    for got, want in zip(_leaves(doubled[2].m), _leaves(state[2].m), strict=True):
        np.testing.assert_array_equal(got, 2 * want)
    # the paths the walker gives are the keys of state_to_arrays
    paths = []
    map_tree(state, lambda leaf, path: paths.append(path))
    assert paths == list(state_to_arrays(state))


# ----------------------------------------------------------------------- spec
def test_built_in_optimisers_declare_what_they_compute():
    assert gd(0.1).spec == ("gd", {"learning_rate": 0.1})
    plain = ("momentum", {"learning_rate": 0.1, "beta": 0.8, "nesterov": False})
    assert momentum(0.1, beta=0.8).spec == plain
    nesterov = ("momentum", {"learning_rate": 0.05, "beta": 0.9, "nesterov": True})
    assert by_name("sgd", 0.05).spec == by_name("nesterov", 0.05).spec == nesterov
    hyper = {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-7}
    assert adam(0.01, b1=0.8, b2=0.99, eps=1e-7).spec == ("adam", hyper)
    assert adamw(0.01, b1=0.8, b2=0.99, eps=1e-7, weight_decay=0.1).spec == (
        "adamw",
        {**hyper, "weight_decay": 0.1},
    )
    schedule = cosine_decay(0.1, 5)
    assert gd(schedule).spec == ("gd", {"learning_rate": schedule})  # a schedule as given
    for name in ["gd", "sgd", "momentum", "nesterov", "adam", "adamw"]:
        assert by_name(name, 0.1).spec is not None


def test_chain_and_clip_declare_their_parts_and_user_transformations_have_no_spec():
    assert clip_by_global_norm(2.0).spec == ("clip_by_global_norm", {"max_norm": 2.0})
    clip, opt = clip_by_global_norm(1.0), gd(0.1)
    assert chain(clip, opt).spec == ("chain", {"transforms": (clip, opt)})  # chain is not gd
    assert GradientTransformation(gd(0.1).init, gd(0.1).update).spec is None
