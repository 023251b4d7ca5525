"""The fused step on several threads: each thread a share of the batch's rows, then of the parameters.

Imported only when a run may use more than one thread (``import deltaprop`` never
imports numba; a one-thread run never compiles this module).  A step runs in two
parallel loops (numba's ``prange``, on a thread-safe threading layer: OpenMP or TBB):

1. thread t takes the rows ``t n / T .. (t + 1) n / T`` of the batch (T threads) and
   computes their forward pass, loss and backward pass exactly as the one-thread step
   does (:func:`deltaprop.engine._fused.forward_output` and ``backward``, chunk by chunk),
   into a gradient vector of its own; its products are BLAS's on one thread;
2. thread t takes a share of the flat parameter vector, adds the threads' gradients in
   thread order, adds the L2 term, computes its part of the sums of squares of the norms
   and makes the optimiser's update on its share.

The loss is the threads' sums added in thread order.  The arithmetic is the one-thread
step's but for the order of the sums over samples (T partial sums instead of one),
so the numbers agree with it, and with the reference, to rounding; for a given number
of threads they are the same bits run after run.  Both cores do all of the work (the
products too), where BLAS's own threads share out the products alone.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from deltaprop.engine._blas import sum_squares
from deltaprop.engine._fused import (
    H_L2,
    H_ONE,
    W_MAX_NORM,
    backward,
    batch_loss,
    batch_weight,
    clip,
    forward_output,
    load_chunk,
    offsets,
    read_layout,
    update,
)

# A share of the parameters starts on a multiple of ALIGN entries (a 64-byte cache line
# of float32), so that no two threads write one line.
ALIGN = 16


@njit(cache=True, parallel=True)
def run_batches_threaded(
    X, Y, sw, order, starts, epochs, p, g, gs, m, v, layout, hyper, wide, lrs, step0, works, out, threads
):  # fmt: skip
    """:func:`deltaprop.engine._fused.run_batches` on ``threads`` threads, the same arguments but:

    ``gs`` (threads - 1, n_params): the gradients of threads 1, 2, ... (thread 0's is g,
    which ends holding the batch's gradient), and ``works`` (threads, size): a work
    vector per thread, laid out for chunks of ``layout[L_ROWS]`` rows.
    """
    D, rows, output, optimizer, gather, weighted, sizes, acts = read_layout(layout)
    zero = hyper[H_ONE] - hyper[H_ONE]
    oW, ob, _, oYb, oc, oz, od = offsets(sizes, rows, gather)
    n_weights = oW[D]
    n_params = p.shape[0]
    # thread t's share of the parameters: [bounds[t], bounds[t + 1])
    bounds = np.empty(threads + 1, np.int64)
    for t in range(threads + 1):
        bounds[t] = min(n_params, (t * n_params // threads + ALIGN - 1) // ALIGN * ALIGN)
    bounds[threads] = n_params
    losses = np.zeros(threads)
    norms = np.zeros((threads, D))
    n_batches = starts.shape[0] - 1
    n_rows = starts[n_batches]
    by_layer = wide[W_MAX_NORM] == 0.0
    for i in range(epochs * n_batches):
        start = starts[i % n_batches]
        n = starts[i % n_batches + 1] - start
        first = (i // n_batches) * n_rows + start
        step = step0 + i + 1
        total = batch_weight(sw, order, first, start, n, gather, weighted, zero)
        out[i, 1] = total if weighted else n
        used = min(threads, n)  # a batch of fewer rows than threads: a row per thread
        for t in prange(threads):
            if t < used:
                losses[t] = rows_gradient(
                    t, used, X, Y, sw, order, first, start, n, total, gather, weighted,
                    p, g if t == 0 else gs[t - 1], m, v, works[t], oW, ob, oYb, oc, oz, od,
                    sizes, acts, output, hyper, wide, out, rows,
                )  # fmt: skip
        loss = 0.0
        for t in range(used):
            loss += losses[t]
        loss = batch_loss(loss, n, weighted, p, n_weights, hyper)
        out[i, 0] = loss
        if not math.isfinite(loss):
            return i + 1
        for t in prange(threads):
            share_update(
                bounds[t], bounds[t + 1], used, p, g, gs, m, v, oW, norms[t], n_weights,
                optimizer, hyper, wide, lrs[i], step, by_layer,
            )  # fmt: skip
        for h in range(D):
            squares = 0.0
            for t in range(threads):
                squares += norms[t, h]
            out[i, 2 + h] = math.sqrt(squares)
        if not by_layer:  # clipping by the global norm: the whole gradient first
            clip(g, wide[W_MAX_NORM], hyper)
            for t in prange(threads):
                lo, hi = bounds[t], bounds[t + 1]
                update(
                    p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], optimizer, hyper, wide, lrs[i], step,
                    max(0, min(hi, n_weights) - lo),
                )  # fmt: skip
    return epochs * n_batches


@njit(cache=True)
def rows_gradient(
    t, used, X, Y, sw, order, first, start, n, total, gather, weighted, p, g, m, v, work,
    oW, ob, oYb, oc, oz, od, sizes, acts, output, hyper, wide, out, rows,
):  # fmt: skip
    """Thread t's rows of the batch (the t-th of ``used`` equal shares), chunk by chunk:
    their gradient into g, their sum of per-sample losses returned."""
    lo = t * n // used
    hi = (t + 1) * n // used
    loss = 0.0
    for c0 in range(lo, hi, rows):
        m_rows = min(rows, hi - c0)
        Xc, Yc, cc = load_chunk(
            X, Y, sw, order, first, start, c0, m_rows, n, total, gather, weighted, sizes, work, oYb, oc
        )
        loss += forward_output(Xc, Yc, cc, weighted, p, work, oW, ob, oz, od, sizes, acts, output, hyper)
        backward(
            Xc, c0 > lo, False, False, 0, out, p, g, m, v, work, oW, ob, oz, od, sizes, acts,
            hyper, wide, 0, 0.0, 0,
        )  # fmt: skip
    return loss


@njit(cache=True)
def share_update(
    lo, hi, used, p, g, gs, m, v, oW, norms, n_weights, optimizer, hyper, wide, lr, step, by_layer
):  # fmt: skip
    """On the parameters [lo, hi): g = the threads' gradients added in order, + lambda W,
    the sums of squares of each layer's part into ``norms``, and (``by_layer``) the update."""
    mine = g[lo:hi]
    for s in range(used - 1):
        theirs = gs[s, lo:hi]
        for q in range(mine.shape[0]):
            mine[q] += theirs[q]
    l2 = hyper[H_L2]
    if l2 != hyper[H_ONE] - hyper[H_ONE] and lo < n_weights:
        weights = g[lo : min(hi, n_weights)]
        params = p[lo : min(hi, n_weights)]
        for q in range(weights.shape[0]):
            weights[q] += l2 * params[q]  # + lambda W^(h)
    for h in range(norms.shape[0]):
        norms[h] = sum_squares(g, max(lo, oW[h]), min(hi, oW[h + 1]))
    if by_layer:
        update(
            p[lo:hi],
            mine,
            m[lo:hi],
            v[lo:hi],
            optimizer,
            hyper,
            wide,
            lr,
            step,
            max(0, min(hi, n_weights) - lo),
        )
