"""The engine's fused step: a whole batch -- or a whole epoch of batches -- in one compiled call.

Imported only when an engine first runs (``import deltaprop`` never imports numba).
:func:`run_batches` gathers each batch, runs the forward pass with the bias add and the
activation fused into one loop after BLAS's product (NumPy's own BLAS, called from the
compiled code: :mod:`deltaprop.engine._blas`; over a short sum, with W^(h) transposed
on the stack for BLAS's faster kernel: :mod:`deltaprop.engine._small`), the output unit
fused with its loss and delta^(D) = c_i (f - Y) (softmax's exponentials and logarithms
as whole vectors: :mod:`deltaprop.engine._exp`), the backward pass with sigma'(a) fused into the product's
result, the bias sums, the L2 term, the gradient norms History records, clipping by
the global norm and the optimiser's update, for every batch of one or more epochs, and
returns the batch losses.  It covers the hidden activations that need no
transcendental function (identity, relu, leaky_relu); a
network with tanh, sigmoid, softplus or gelu units runs the engine's split step
(:mod:`deltaprop.engine._step`), where NumPy's vectorised ufuncs compute them.

The parameters, their gradients and the optimiser's moments are flat vectors (every
W^(h), W^(1) as its transpose, then every b^(h): :mod:`deltaprop.engine._layout`);
``layout`` holds the shapes and offsets.  Every scalar of
the arithmetic is of the arrays' dtype (``hyper``), so float32 stays float32 as in
NumPy; no fastmath: IEEE arithmetic, the same bits run after run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray, njit

from deltaprop.engine._blas import gemm, memcpy, sum_squares
from deltaprop.engine._exp import cast, exp_nonpositive, log_at_least_one
from deltaprop.engine._small import CAPACITY, stack_buffer

# Hidden activations of the fused step, output units and optimisers, by code.
IDENTITY, RELU, LEAKY_RELU = 0, 1, 2
SOFTMAX, LINEAR, SIGMOID = 0, 1, 2
NO_UPDATE, GD, MOMENTUM, NESTEROV, ADAM, ADAMW = 0, 1, 2, 3, 4, 5
# Entries of ``hyper`` (arrays' dtype) and of ``layout`` (int64).
H_ONE, H_SLOPE, H_L2, H_BETA, H_B1, H_ONE_MINUS_B1, H_B2, H_ONE_MINUS_B2, H_EPS, H_DECAY = range(10)
N_HYPER = 10
W_B1, W_B2, W_WEIGHT_DECAY, W_MAX_NORM = range(4)
N_WIDE = 4
# layout: [D, rows, output, optimizer, gather, weighted, M_0..M_D, act_1..act_{D-1}]
L_D, L_ROWS, L_OUTPUT, L_OPTIMIZER, L_GATHER, L_WEIGHTED = range(6)
L_SIZES = 6
# Numbers a row of a chunk in the work vector besides its layers: c_i, and the softmax
# unit's row maximum, sum of e^{a - max} and its log.
PER_ROW = 4


@njit(cache=True)
def run_batches(X, Y, sw, order, starts, epochs, p, g, m, v, layout, hyper, wide, lrs, step0, work, out):
    """``epochs`` epochs of steps on the batches ``order[starts[i]:starts[i+1]]`` of (X, Y), in order.

    X (n, M_0), Y (n, K) and sw (n,) are flat views; with ``gather`` the batch rows of
    epoch e, ``order[e * n + starts[i] : e * n + starts[i + 1]]`` (one permutation of
    the n rows per epoch), are copied into ``work``'s first arrays, else the batch is
    the contiguous rows ``starts[i]:starts[i+1]`` in every epoch.  Step k (batch i of
    epoch e, k = e * n_batches + i) has the learning rate ``lrs[k]``; ``wide`` holds
    what is computed in float64: Adam's b1 and b2 (for the bias corrections at step
    ``step0 + k + 1``), adamw's weight decay, and the bound of clipping by the global
    norm (0: none).  ``out`` (epochs * n_batches, 2 + D) gets per step the loss, the
    weight of the batch (rows or sum of sample weights) and ||dL/dW^(h)|| per layer.
    A batch of more than ``rows`` rows (the layout's) runs in chunks of ``rows``.
    Stops after the first batch whose loss is not finite, before its update (and its
    last chunk's backward pass); returns the number of steps whose loss was computed.
    """
    D, rows, output, optimizer, gather, weighted, sizes, acts = read_layout(layout)
    zero = hyper[H_ONE] - hyper[H_ONE]
    oW, ob, _, oYb, oc, oz, od = offsets(sizes, rows, gather)
    n_weights = oW[D]
    n_batches = starts.shape[0] - 1
    n_rows = starts[n_batches]
    by_layer = wide[W_MAX_NORM] == 0.0  # no clipping: update each layer as soon as it is done
    for i in range(epochs * n_batches):
        start = starts[i % n_batches]
        n = starts[i % n_batches + 1] - start
        first = (i // n_batches) * n_rows + start  # the batch's first entry of ``order``
        t = step0 + i + 1
        # the batch's weight: rows, or the sum of its sample weights (c_i = s_i / sum s)
        total = batch_weight(sw, order, first, start, n, gather, weighted, zero)
        out[i, 1] = total if weighted else n
        # A batch of more than ``rows`` samples (the full batch) runs in chunks of ``rows``:
        # each chunk's forward and backward pass in cache, its gradient added to the chunks'
        # before it.  The loss is known after the last chunk's forward pass; a batch whose
        # loss is not finite ends the run there, before any update.
        loss = 0.0
        for c0 in range(0, n, rows):
            m_rows = min(rows, n - c0)
            last = c0 + m_rows == n
            Xc, Yc, cc = load_chunk(
                X, Y, sw, order, first, start, c0, m_rows, n, total, gather, weighted, sizes, work, oYb, oc
            )
            loss += forward_output(Xc, Yc, cc, weighted, p, work, oW, ob, oz, od, sizes, acts, output, hyper)
            if last:
                loss = batch_loss(loss, n, weighted, p, n_weights, hyper)
                out[i, 0] = loss
                if not math.isfinite(loss):
                    return i + 1
            backward(
                Xc, c0 > 0, last, by_layer, i, out, p, g, m, v, work, oW, ob, oz, od, sizes, acts,
                hyper, wide, optimizer, lrs[i], t,
            )  # fmt: skip
        if not by_layer:
            clip(g, wide[W_MAX_NORM], hyper)
            update(p, g, m, v, optimizer, hyper, wide, lrs[i], t, n_weights)
    return epochs * n_batches


@njit(cache=True)
def read_layout(layout):
    """The entries of ``layout``: (D, rows, output, optimizer, gather, weighted, sizes M_0..M_D,
    hidden activations act_1..act_{D-1})."""
    D = layout[L_D]
    sizes = layout[L_SIZES : L_SIZES + D + 1]
    acts = layout[L_SIZES + D + 1 : L_SIZES + 2 * D]
    gather = layout[L_GATHER] == 1
    weighted = layout[L_WEIGHTED] == 1
    return D, layout[L_ROWS], layout[L_OUTPUT], layout[L_OPTIMIZER], gather, weighted, sizes, acts


@njit(cache=True)
def batch_weight(sw, order, first, start, n, gather, weighted, zero):
    """The sum of a batch's sample weights (``zero`` without them), added in order."""
    total = zero
    if weighted:
        for r in range(n):
            total += sw[order[first + r]] if gather else sw[start + r]
    return total


@njit(cache=True)
def batch_loss(loss, n, weighted, p, n_weights, hyper):
    """The batch loss from the sum of its per-sample losses (each times c_i where weighted):
    the mean, plus lambda/2 ||w||^2 (weights only)."""
    if not weighted:
        loss /= n
    if hyper[H_L2] != hyper[H_ONE] - hyper[H_ONE]:
        loss += 0.5 * hyper[H_L2] * sum_squares(p, 0, n_weights)
    return loss


@njit(cache=True)
def offsets(sizes, rows, gather):
    """Where things are: W^(h) and b^(h) in p (oW, ob: D + 1 entries each, the ends included),
    and in a work vector for chunks of ``rows`` rows: X_B, Y_B (a chunk's rows, when
    gathering), PER_ROW numbers a row (c and the output unit's, :func:`load_chunk`),
    then per layer z^(h) (a^(D) for the output layer: a hidden layer's a^(h)
    is not kept, as sigma'(a) = 1[z > 0] o ... is computed from z for these activations)
    and delta^(h).  Returns (oW, ob, oXb, oYb, oc, oz, od)."""
    D = sizes.shape[0] - 1
    d, K = sizes[0], sizes[D]
    oW = np.empty(D + 1, np.int64)
    oW[0] = 0
    for h in range(D):
        oW[h + 1] = oW[h] + sizes[h + 1] * sizes[h]
    ob = np.empty(D + 1, np.int64)
    ob[0] = oW[D]
    for h in range(D):
        ob[h + 1] = ob[h] + sizes[h + 1]
    rows_g = rows if gather else 0
    oXb = 0
    oYb = rows_g * d
    oc = oYb + rows_g * K
    oz = np.empty(D, np.int64)
    od = np.empty(D, np.int64)
    top = oc + PER_ROW * rows
    for h in range(D):
        oz[h] = top
        od[h] = top + rows * sizes[h + 1]
        top += 2 * rows * sizes[h + 1]
    return oW, ob, oXb, oYb, oc, oz, od


@njit(cache=True)
def load_chunk(X, Y, sw, order, first, start, c0, m_rows, n, total, gather, weighted, sizes, work, oYb, oc):
    """The rows c0 .. c0 + m_rows of a batch of n rows and their weights c_i: (X_c, Y_c, per_row).

    Gathered into ``work`` (rows ``order[first + c0 ...]``), or views of the contiguous
    rows from ``start + c0``; ``per_row`` (PER_ROW, m_rows): c, where c_i = 1/n, or
    s_i / ``total`` with sample weights, so that sums over samples are (weighted) means,
    then the output unit's numbers per row (:func:`forward_output`).
    """
    d, K = sizes[0], sizes[sizes.shape[0] - 1]
    if gather:
        Xc = work[: m_rows * d].reshape(m_rows, d)
        Yc = work[oYb : oYb + m_rows * K].reshape(m_rows, K)
        gather_rows(X, order, first + c0, d, Xc)
        gather_rows(Y, order, first + c0, K, Yc)
    else:
        Xc = X[(start + c0) * d : (start + c0 + m_rows) * d].reshape(m_rows, d)
        Yc = Y[(start + c0) * K : (start + c0 + m_rows) * K].reshape(m_rows, K)
    per_row = work[oc : oc + PER_ROW * m_rows].reshape(PER_ROW, m_rows)
    cc = per_row[0]
    if weighted:
        for r in range(m_rows):
            row = order[first + c0 + r] if gather else start + c0 + r
            cc[r] = sw[row] / total
    else:
        cc[0] = 1.0 / n  # in the arrays' dtype
        for r in range(1, m_rows):
            cc[r] = cc[0]
    return Xc, Yc, per_row


@njit(cache=True, error_model="numpy")
def forward_output(X, Y, per_row, weighted, p, work, oW, ob, oz, od, sizes, acts, output, hyper):
    """The forward pass of a chunk's rows (X, Y), its output unit and delta^(D) = c_i (f - Y).

    ``per_row`` (PER_ROW, rows): c, then room for the output unit's numbers per row.
    Returns the chunk's sum of per-sample losses (each times c_i where weighted).
    """
    n = X.shape[0]
    D = sizes.shape[0] - 1
    K = sizes[D]
    one = hyper[H_ONE]
    zero = one - one
    z_prev = X
    for h in range(D):
        M = sizes[h + 1]
        b = p[ob[h] : ob[h + 1]]
        z = work[oz[h] : oz[h] + n * M].reshape(n, M)
        if h == 0:  # W^(1) is kept transposed (deltaprop.engine._layout)
            first_forward_product(z_prev, p[oW[0] : oW[1]].reshape(sizes[0], M), z)
        else:
            forward_product(z_prev, p[oW[h] : oW[h + 1]].reshape(M, sizes[h]), z)
        # a^(h) = W^(h) z^(h-1) + b^(h), rows are samples
        if h == D - 1:
            break
        activate(z, b, acts[h], hyper[H_SLOPE])  # z^(h) = sigma(a^(h)), in place
        z_prev = z
    aD = work[oz[D - 1] : oz[D - 1] + n * K].reshape(n, K)
    dD = work[od[D - 1] : od[D - 1] + n * K].reshape(n, K)
    bD = p[ob[D - 1] : ob[D]]
    c = per_row[0]
    if output == SOFTMAX:
        return softmax_cross_entropy(aD, bD, Y, c, weighted, per_row[1], per_row[2], per_row[3], dD)
    loss = 0.0
    for r in range(n):
        for k in range(K):
            aD[r, k] += bD[k]
        per_sample = zero
        if output == LINEAR:
            for k in range(K):
                residual = aD[r, k] - Y[r, k]
                per_sample += residual * residual
                dD[r, k] = residual * c[r]
            per_sample = hyper[H_ONE] / (one + one) * per_sample
        else:
            for k in range(K):
                x = aD[r, k]
                e = math.exp(-abs(x))  # the two branches of a sigmoid that cannot overflow
                f = one / (one + e) if x >= zero else e / (one + e)
                softplus = (x if x > zero else zero) + math.log1p(e)
                per_sample += softplus - Y[r, k] * x  # binary cross-entropy from the logit
                dD[r, k] = (f - Y[r, k]) * c[r]
        loss += per_sample * (c[r] if weighted else one)
    return loss


@njit(cache=True, error_model="numpy")
def softmax_cross_entropy(a, b, Y, c, weighted, row_max, sums, logs, delta):
    """a += b, the softmax unit f = e^{a - m} / s on each row (m its maximum, s = sum_k e^{a_k - m}),
    its cross-entropy l = (m + log s) sum_k Y_k - sum_k Y_k a_k and delta = c_i (f - Y).

    Returns the sum of the rows' losses (each times c_i where weighted).  The exponentials
    and logarithms run as whole vectors (:mod:`deltaprop.engine._exp`) between passes over
    the rows; ``row_max``, ``sums`` and ``logs`` are room for a number a row.  Two classes
    (the lecture's two moons) run :func:`softmax_two`, the same arithmetic.
    """
    if a.shape[1] == 2:
        return softmax_two(a, b, Y, c, weighted, row_max, sums, logs, delta)
    return softmax_rows(a, b, Y, c, weighted, row_max, sums, logs, delta)


@njit(cache=True, error_model="numpy")
def softmax_two(a, b, Y, c, weighted, row_max, sums, logs, delta):
    """:func:`softmax_rows` for two classes, number for number, on the arrays as flat vectors:
    the row loops of two numbers each become loops over the rows that LLVM vectorises."""
    n = a.shape[0]
    one = c[0] - c[0] + 1
    fa, fy, fd = a.reshape(2 * n), Y.reshape(2 * n), delta.reshape(2 * n)
    b0, b1 = b[0], b[1]
    for r in range(n):
        x0 = fa[2 * r] + b0
        x1 = fa[2 * r + 1] + b1
        fa[2 * r] = x0
        fa[2 * r + 1] = x1
        mx = x1 if x1 > x0 else x0
        row_max[r] = mx
        fd[2 * r] = x0 - mx
        fd[2 * r + 1] = x1 - mx
    exp_nonpositive(fd)
    for r in range(n):
        s = fd[2 * r] + fd[2 * r + 1]
        sums[r] = s
        logs[r] = s
    log_at_least_one(logs)
    loss = 0.0
    for r in range(n):
        y0, y1 = fy[2 * r], fy[2 * r + 1]
        per_sample = (row_max[r] + logs[r]) * (y0 + y1) - (y0 * fa[2 * r] + y1 * fa[2 * r + 1])
        loss += per_sample * (c[r] if weighted else one)
    for r in range(n):
        s = sums[r]
        fd[2 * r] = (fd[2 * r] / s - fy[2 * r]) * c[r]
        fd[2 * r + 1] = (fd[2 * r + 1] / s - fy[2 * r + 1]) * c[r]
    return loss


@njit(cache=True, error_model="numpy")
def softmax_rows(a, b, Y, c, weighted, row_max, sums, logs, delta):
    """:func:`softmax_cross_entropy` row by row, for any number of classes."""
    n, K = a.shape
    one = c[0] - c[0] + 1
    for r in range(n):
        mx = a[r, 0] + b[0]
        for k in range(K):
            a[r, k] += b[k]
            mx = a[r, k] if a[r, k] > mx else mx
        row_max[r] = mx
        for k in range(K):
            delta[r, k] = a[r, k] - mx  # <= 0, and 0 where the maximum is
    exp_nonpositive(delta.reshape(n * K))  # e^{a - m}: e^0 = 1 exactly
    for r in range(n):
        s = delta[r, 0]
        for k in range(1, K):
            s += delta[r, k]
        sums[r] = s
        logs[r] = s
    log_at_least_one(logs)  # s >= 1: one of its terms is e^0
    loss = 0.0
    for r in range(n):
        y_sum = Y[r, 0]
        y_dot_a = Y[r, 0] * a[r, 0]
        for k in range(1, K):
            y_sum += Y[r, k]
            y_dot_a += Y[r, k] * a[r, k]
        per_sample = (row_max[r] + logs[r]) * y_sum - y_dot_a
        loss += per_sample * (c[r] if weighted else one)
        s = sums[r]
        for k in range(K):
            delta[r, k] = (delta[r, k] / s - Y[r, k]) * c[r]
    return loss


@njit(cache=True)
def backward(
    X, accumulate, finish, by_layer, i, out, p, g, m, v, work, oW, ob, oz, od, sizes, acts,
    hyper, wide, optimizer, lr, t,
):  # fmt: skip
    """The backward pass of a chunk's rows: dL/dW^(h) and dL/db^(h) into g (added to what g
    holds with ``accumulate``) and delta^(h-1) = sigma'(a^(h-1)) o (W^(h))^T delta^(h).

    With ``finish`` (the batch's last chunk) a layer's gradient is complete when its turn
    is done: the L2 term is added, its norm goes to ``out[i, 2 + h]`` and, with
    ``by_layer``, its parameters are updated at once, while they are in cache (the same
    arithmetic, parameter by parameter, as one update after the whole pass).
    """
    n = X.shape[0]
    D = sizes.shape[0] - 1
    zero = hyper[H_ONE] - hyper[H_ONE]
    for h in range(D - 1, -1, -1):
        M, M_prev = sizes[h + 1], sizes[h]
        delta = work[od[h] : od[h] + n * M].reshape(n, M)
        z_prev = X if h == 0 else work[oz[h - 1] : oz[h - 1] + n * M_prev].reshape(n, M_prev)
        if h == 0:  # W^(1) and its gradient are kept transposed (deltaprop.engine._layout)
            weight_gradient(z_prev, delta, g[oW[0] : oW[1]].reshape(M_prev, M), accumulate)  # z^T delta
        else:
            weight_gradient(delta, z_prev, g[oW[h] : oW[h + 1]].reshape(M, M_prev), accumulate)
        # sum_i delta^(h)_i z^(h-1)_i^T
        column_sums(delta, g[ob[h] : ob[h + 1]], accumulate)  # sum_i delta^(h)_i, rows in order
        if h > 0:
            back = work[od[h - 1] : od[h - 1] + n * M_prev].reshape(n, M_prev)
            # delta^(h-1) = sigma'(a^(h-1)) o (W^(h))^T delta^(h)
            back_product(delta, p[oW[h] : oW[h + 1]].reshape(M, M_prev), back)
            z_back = work[oz[h - 1] : oz[h - 1] + n * M_prev].reshape(n, M_prev)
            times_derivative(back, z_back, acts[h - 1], hyper[H_SLOPE])
        if not finish:
            continue
        if hyper[H_L2] != zero:
            l2 = hyper[H_L2]
            for q in range(oW[h], oW[h + 1]):
                g[q] += l2 * p[q]  # + lambda W^(h)
        out[i, 2 + h] = math.sqrt(sum_squares(g, oW[h], oW[h + 1]))
        if by_layer:
            for lo, hi, weights in ((oW[h], oW[h + 1], oW[h + 1] - oW[h]), (ob[h], ob[h + 1], 0)):
                update(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], optimizer, hyper, wide, lr, t, weights)


@njit(cache=True)
def gather_rows(flat, order, first, width, out):
    """out[r] = row ``order[first + r]`` of ``flat`` (rows of ``width``), a memcpy a row for long rows."""
    n = out.shape[0]
    size = width * out.itemsize
    if size < 64:  # a few numbers: a loop
        for r in range(n):
            row = order[first + r]
            for j in range(width):
                out[r, j] = flat[row * width + j]
        return
    source, target = flat.ctypes.data, out.ctypes.data
    for r in range(n):
        memcpy(target + r * size, source + order[first + r] * size, size)


# A layer narrower than NARROW units runs its element-wise loops over the whole (n, M)
# array as one vector: a loop over a row of M < NARROW numbers is too short for LLVM's
# vector code (it runs the scalar remainder), W5's 200 x 8 bias add and ReLU 0.87 µs.
NARROW = 32
TILE = 64  # the bias repeated to at least this many numbers, a whole number of rows


@njit(cache=True)
def activate(a, b, act, slope):
    """z = sigma(a + b) in place in a, one loop per activation (no branch inside: vectorised)."""
    n, M = a.shape
    zero = slope - slope
    if M < NARROW and act != IDENTITY:
        activate_narrow(a.reshape(n * M), b, act, slope)
        return
    if act == RELU:
        for r in range(n):
            for j in range(M):
                x = a[r, j] + b[j]
                a[r, j] = x if x > zero else zero
    elif act == LEAKY_RELU:
        for r in range(n):
            for j in range(M):
                x = a[r, j] + b[j]
                a[r, j] = x if x > zero else slope * x
    else:
        for r in range(n):
            for j in range(M):
                a[r, j] += b[j]


@njit(cache=True)
def activate_narrow(flat, b, act, slope):
    """:func:`activate` on a narrow layer's rows as one vector ``flat``: the bias repeated
    (on the stack) to T >= TILE numbers, whole rows, then blocks of T numbers; the same
    arithmetic, number by number."""
    M = b.shape[0]
    T = M * ((TILE + M - 1) // M)
    tile = carray(stack_buffer(b), (T,))
    for i in range(T):
        tile[i] = b[i % M]
    zero = slope - slope
    total = flat.shape[0]
    full = total - total % T
    for s in range(0, full, T):
        block = flat[s : s + T]
        if act == RELU:
            for i in range(T):
                x = block[i] + tile[i]
                block[i] = x if x > zero else zero
        else:
            for i in range(T):
                x = block[i] + tile[i]
                block[i] = x if x > zero else slope * x
    for i in range(full, total):  # fewer than T numbers: whole rows, so tile[i - full] is b_j
        x = flat[i] + tile[i - full]
        flat[i] = (x if x > zero else zero) if act == RELU else (x if x > zero else slope * x)


@njit(cache=True)
def times_derivative(g, z, act, slope):
    """g o sigma'(a) in place, from z = sigma(a): relu and leaky_relu have a > 0 exactly where z > 0.

    Number by number over the whole (n, M) arrays (contiguous): one long vectorised loop.
    """
    n, M = g.shape
    flat_g, flat_z = g.reshape(n * M), z.reshape(n * M)
    zero = slope - slope
    if act == RELU:
        for i in range(n * M):
            flat_g[i] = flat_g[i] if flat_z[i] > zero else zero  # ReLU'(0) = 0, the weak derivative
    elif act == LEAKY_RELU:
        for i in range(n * M):
            flat_g[i] = flat_g[i] if flat_z[i] > zero else slope * flat_g[i]


@njit(cache=True)
def column_sums(delta, db, accumulate):
    """db_j = sum_i delta_ij (added to db_j with ``accumulate``), the rows added in order.

    Eight rows a statement: the additions are the same, in the same order, but db_j goes
    through memory once per eight rows instead of once per row (a short row's sums are
    bound by that round trip, not by the additions).
    """
    n, M = delta.shape
    for j in range(M):
        db[j] = db[j] + delta[0, j] if accumulate else delta[0, j]
    r = 1
    while r + 8 <= n:
        for j in range(M):
            db[j] = (
                db[j] + delta[r, j] + delta[r + 1, j] + delta[r + 2, j] + delta[r + 3, j]
                + delta[r + 4, j] + delta[r + 5, j] + delta[r + 6, j] + delta[r + 7, j]
            )  # fmt: skip
        r += 8
    for q in range(r, n):
        for j in range(M):
            db[j] += delta[q, j]


# The products are BLAS's (NumPy's own, :mod:`deltaprop.engine._blas`), as fast as
# NumPy's down to the lecture's toy networks, except a sum over a single index -- an
# outer product: W^(1) of one input, a batch of one, W^(D) of one output -- which a
# compiled loop computes faster, and with the same bits (one multiplication per entry).
# The forward product over a short sum (k <= SHORT_SUM inputs) copies W^T to the stack
# first (:mod:`deltaprop.engine._small`) and calls OpenBLAS's ``A B`` kernel, which is
# about twice as fast there as its ``A B^T`` kernel (1.2 -> 0.6 µs for W5's 200 x 8 x 8).
# Compiled loops for all three products (benchmarks/bench_small_products.py) beat BLAS
# only on one or two rows: BLAS's call costs ~0.1 µs from compiled code, and numba's
# loops (no SLP vectoriser) do not keep a row's sums in registers.
SHORT_SUM = 16


@njit(cache=True)
def forward_product(z, W, a):
    """a = z W^T: a_ij = sum_q z_iq W_jq."""
    n, k = z.shape
    M = W.shape[0]
    if k == 1:
        for r in range(n):
            x = z[r, 0]
            for j in range(M):
                a[r, j] = x * W[j, 0]
        return
    if k > SHORT_SUM or M * k > CAPACITY:
        gemm(False, True, z, W, a, False)
        return
    Wt = carray(stack_buffer(W), (k, M))  # W^T in this call's stack frame
    for q in range(k):
        for j in range(M):
            Wt[q, j] = W[j, q]
    gemm(False, False, z, Wt, a, False)


@njit(cache=True)
def first_forward_product(z, Wt, a):
    """a = z W^T from W^T (k x M, as the first layer keeps it): a_ij = sum_q z_iq Wt_qj."""
    if z.shape[1] == 1:
        for r in range(z.shape[0]):
            x = z[r, 0]
            for j in range(Wt.shape[1]):
                a[r, j] = x * Wt[0, j]
        return
    gemm(False, False, z, Wt, a, False)


@njit(cache=True)
def weight_gradient(delta, z, dW, accumulate):
    """dW = delta^T z: dW_jq = sum_i delta_ij z_iq (added to dW with ``accumulate``); with the
    operands swapped, the first layer's transposed gradient z^T delta."""
    if delta.shape[0] > 1:
        gemm(True, False, delta, z, dW, accumulate)
        return
    for j in range(delta.shape[1]):
        d = delta[0, j]
        for q in range(z.shape[1]):
            dW[j, q] = dW[j, q] + d * z[0, q] if accumulate else d * z[0, q]


@njit(cache=True)
def back_product(delta, W, back):
    """back = delta W: back_iq = sum_j delta_ij W_jq."""
    n, M = delta.shape
    if M > 1:
        gemm(False, False, delta, W, back, False)
        return
    for r in range(n):
        d = delta[r, 0]
        for q in range(W.shape[1]):
            back[r, q] = d * W[0, q]


@njit(cache=True)
def epoch_means(out, steps):
    """Per epoch of ``steps`` rows of ``out`` (loss, weight, ||dL/dW^(h)|| ...): the weighted mean
    loss and the mean norms, summed in order (the bits of :func:`deltaprop.train.fit`'s Python loop)."""
    epochs = out.shape[0] // steps
    columns = out.shape[1]
    means = np.zeros((epochs, columns - 1))
    for e in range(epochs):
        loss = 0.0
        weight = 0.0
        for i in range(e * steps, (e + 1) * steps):
            loss += out[i, 0] * out[i, 1]
            weight += out[i, 1]
            for h in range(2, columns):
                means[e, h - 1] += out[i, h]
        means[e, 0] = loss / weight
        for h in range(2, columns):
            means[e, h - 1] /= steps
    return means


@njit(cache=True)
def clip(g, max_norm, like):
    """g scaled by min(1, max_norm / ||g||), clipping by the global norm; max_norm 0: unchanged."""
    if max_norm == 0.0:
        return
    norm = math.sqrt(sum_squares(g, 0, g.shape[0]))
    if norm > max_norm:
        scale = cast(max_norm / norm, like)
        for q in range(g.shape[0]):
            g[q] = scale * g[q]


@njit(cache=True)
def update(p, g, m, v, optimizer, hyper, wide, lr, t, n_weights):
    """The optimiser's step ``t`` added to p, with the moments m (or the velocity) and v, in one loop.

    The first ``n_weights`` entries are weights (adamw decays those only).  The loops run
    from 0 to the length of p: a loop over a range of a longer vector is not vectorised.
    """
    if optimizer == NO_UPDATE:
        return
    n_params = p.shape[0]
    eta = cast(lr, p)
    neg_eta = cast(-lr, p)
    beta = hyper[H_BETA]
    if optimizer == ADAM or optimizer == ADAMW:
        b1, b2 = wide[W_B1], wide[W_B2]
        neg_alpha = cast(-(lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)), p)
        decay = cast(lr * wide[W_WEIGHT_DECAY], p)
        for q in range(n_params):
            gq = g[q]
            mq = hyper[H_B1] * m[q] + hyper[H_ONE_MINUS_B1] * gq  # m_t = b1 m_{t-1} + (1 - b1) g
            vq = hyper[H_B2] * v[q] + hyper[H_ONE_MINUS_B2] * (gq * gq)  # v_t = b2 v_{t-1} + (1 - b2) g^2
            m[q] = mq
            v[q] = vq
            u = neg_alpha * mq / (math.sqrt(vq) + hyper[H_EPS])  # u_t = -alpha_t m_t / (sqrt(v_t) + eps)
            if optimizer == ADAMW and q < n_weights:
                u = u - decay * p[q]  # adamw: - eta weight_decay W, weights only
            p[q] = p[q] + u
    elif optimizer == GD:
        for q in range(n_params):
            p[q] = p[q] + neg_eta * g[q]
    elif optimizer == NESTEROV:
        for q in range(n_params):
            velocity = beta * m[q] - eta * g[q]  # v_{t+1} = beta v_t - eta g
            m[q] = velocity
            p[q] = p[q] + (beta * velocity - eta * g[q])  # u = beta v_{t+1} - eta g
    else:
        for q in range(n_params):
            velocity = beta * m[q] - eta * g[q]  # v_{t+1} = beta v_t - eta g
            m[q] = velocity
            p[q] = p[q] + velocity
