"""exp and log as loops the compiler vectorises: the softmax unit's transcendental functions.

numba compiles ``math.exp`` and ``math.log`` as one call into libm per number, which
the loop vectoriser cannot widen; for the lecture's toy network (200 rows of 2 classes)
those calls were most of the output unit's time.  Here both are written in plain
arithmetic -- additions, multiplications, comparisons and one division, no call and no
branch -- so that LLVM runs 8 or 16 numbers at a time, without fastmath: IEEE
arithmetic in the arrays' dtype, the same bits on every machine and every run (no libm
inside).

- :func:`exp_nonpositive`: e^x for x <= 0, what softmax needs (x = a_k - max_k a_k).
  x = k ln 2 + r with k = round(x / ln 2) and |r| <= ln 2 / 2 (ln 2 in two parts, so
  that k ln 2 is exact); e^r by its Taylor polynomial, to 1/13! in float64 and 1/7! in
  float32 (the first term left out is below half a unit in the last place); times 2^k
  as 2^k1 2^k2 (k1 = floor(k / 2)), two normal numbers made from their exponent bits,
  so that the one rounding is the last, denormals included.  Below half the smallest
  denormal the result is 0; NaN stays NaN.
- :func:`log_at_least_one`: log s for s >= 1, what softmax needs (s = sum_k e^{a_k - max},
  one of whose terms is 1).  s = m 2^e with m in [1/sqrt 2, sqrt 2) (m and e from the
  bits of s, halved once where m >= sqrt 2);
  log m = 2 atanh u, u = (m - 1)/(m + 1), |u| <= 0.172, by its series to u^21 (float64)
  or u^9 (float32); plus e ln 2.  inf stays inf, NaN stays NaN.

exp is within 1.5 units in the last place of the exact value (1.14 measured), log within
3 (2.8 measured) -- log enters only the loss, not the gradient
(``tests/test_engine_kernels.py`` checks both against NumPy in extended precision over
their whole range).  On the benchmark machine they take 0.5 ns a float32 (libm's: 2.3
and 2.6 ns) and 1.2 ns a float64 (libm's: 4.2 and 3.4 ns).
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload


def _split_ln2(bits: int) -> tuple[float, float]:
    """ln 2 = hi + lo with hi of ``bits`` significant bits (k hi exact for small integers k),
    lo to 40 digits before it is rounded (the double nearest ln 2 is not ln 2)."""
    with decimal.localcontext() as context:
        context.prec = 40
        ln2 = decimal.Decimal(2).ln()
        hi = math.ldexp(math.floor(math.ldexp(float(ln2), bits)), -bits)
        return hi, float(ln2 - decimal.Decimal(hi))


def _as_float(typingctx: Any, bits: Any, like: Any) -> Any:
    """The float of ``like``'s type whose IEEE bits are the low 32 or 64 bits of the integer ``bits``."""
    real = like.dtype if isinstance(like, types.Array) else like

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        whole = ir.IntType(real.bitwidth)
        value = args[0]
        if value.type.width > whole.width:
            value = builder.trunc(value, whole)
        elif value.type.width < whole.width:
            value = builder.sext(value, whole)
        return builder.bitcast(value, context.get_value_type(real))

    return real(bits, like), codegen


def _as_int(typingctx: Any, x: Any) -> Any:
    """The IEEE bits of the float ``x`` as a 64-bit integer (a float32's in the low 32 bits)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        bits = builder.bitcast(args[0], ir.IntType(x.bitwidth))
        return builder.zext(bits, ir.IntType(64)) if x.bitwidth < 64 else bits

    return types.int64(x), codegen


as_float: Any = intrinsic(_as_float)  # as_float(bits, like), in compiled code
as_int: Any = intrinsic(_as_int)  # as_int(x), in compiled code


def cast(x, like):
    """x in the dtype of ``like``, an array or a float (compiled code only: typed below)."""
    raise NotImplementedError  # pragma: no cover - numba compiles the overload


@overload(cast)
def _cast_typed(x, like):
    real = like.dtype if isinstance(like, types.Array) else like
    if real == types.float32:
        return lambda x, like: np.float32(x)
    return lambda x, like: np.float64(x)


def _constants(dtype: type) -> dict[str, object]:
    """Everything the loops need: the arithmetic's in ``dtype``, the exponent field's in integers."""
    single = dtype is np.float32
    mantissa = 24 if single else 53  # significant bits
    bias = 127 if single else 1023  # of the exponent field
    hi, lo = _split_ln2(12 if single else 32)
    terms = 7 if single else 13  # e^r's Taylor polynomial, 1/n! up to n = terms
    series = 4 if single else 10  # 2 atanh u: u^(2j+1)/(2j+1) up to j = series
    return {
        # exp: x below ``low`` (half the smallest denormal) gives 0; k = t - magic for t = x / ln 2 + magic
        "low": dtype(-(bias + mantissa - 1) * math.log(2.0)),
        "inv_ln2": dtype(1.0 / math.log(2.0)),
        "magic": dtype(1.5 * 2.0 ** (mantissa - 1)),
        "ln2_hi": dtype(hi),
        "ln2_lo": dtype(lo),
        "taylor": np.array([1.0 / math.factorial(n) for n in range(terms, -1, -1)], dtype),
        "atanh": np.array([2.0 / (2 * j + 1) for j in range(series, -1, -1)], dtype),
        "sqrt2": dtype(math.sqrt(2.0)),
        "half": dtype(0.5),
        "one": dtype(1.0),
        # the fields of the bits, in 64-bit integers
        "shift": mantissa - 1,  # the exponent field's first bit
        "bias": bias,
        "fraction": (1 << (mantissa - 1)) - 1,  # the mantissa's bits
        "one_bits": bias << (mantissa - 1),  # the bits of 1.0
    }


_SINGLE = _constants(np.float32)
_DOUBLE = _constants(np.float64)


def _exp_constants(v):  # pragma: no cover - numba compiles the overload
    raise NotImplementedError


@overload(_exp_constants)
def _exp_constants_typed(v):
    c = _SINGLE if v.dtype == types.float32 else _DOUBLE
    low, inv_ln2, magic, hi, lo = c["low"], c["inv_ln2"], c["magic"], c["ln2_hi"], c["ln2_lo"]
    shift, bias, taylor = c["shift"], c["bias"], c["taylor"]
    return lambda v: (low, inv_ln2, magic, hi, lo, shift, bias, taylor)


def _log_constants(v):  # pragma: no cover - numba compiles the overload
    raise NotImplementedError


@overload(_log_constants)
def _log_constants_typed(v):
    c = _SINGLE if v.dtype == types.float32 else _DOUBLE
    sqrt2, half, one, hi, lo = c["sqrt2"], c["half"], c["one"], c["ln2_hi"], c["ln2_lo"]
    shift, bias, fraction, one_bits = c["shift"], c["bias"], c["fraction"], c["one_bits"]
    atanh = c["atanh"]
    return lambda v: (sqrt2, half, one, hi, lo, shift, bias, fraction, one_bits, atanh)


@njit(cache=True, inline="always")
def _polynomial(coefficients, x):
    """c_0 x^n + ... + c_n by Horner's rule (a loop of fixed length: unrolled when compiled)."""
    p = coefficients[0]
    for q in range(1, coefficients.shape[0]):
        p = p * x + coefficients[q]
    return p


@njit(cache=True, error_model="numpy")
def exp_nonpositive(v):
    """v = e^v in place, for entries v <= 0 (or NaN); a positive entry gives a wrong number."""
    low, inv_ln2, magic, hi, lo, shift, bias, taylor = _exp_constants(v)
    for i in range(v.shape[0]):
        x0 = v[i]
        x = x0 if x0 > low else low  # NaN goes to low here and is put back at the end
        k = (x * inv_ln2 + magic) - magic  # round(x / ln 2), an integer <= 0
        r = (x - k * hi) - k * lo
        # e^x = e^r 2^k1 2^k2 with k1 = floor(k / 2), k2 = k - k1: both powers are normal
        # numbers and e^r 2^k1 is exact, so the one rounding is the last, denormals included
        k_whole = int(k)
        k1 = k_whole >> 1
        scale1 = as_float((k1 + bias) << shift, x)
        scale2 = as_float((k_whole - k1 + bias) << shift, x)
        y = (_polynomial(taylor, r) * scale1) * scale2
        y = y if x0 > low else low - low
        v[i] = y if x0 == x0 else x0


@njit(cache=True, error_model="numpy")
def log_at_least_one(v):
    """v = log v in place, for entries v >= 1 (or inf, NaN); an entry below 1 gives a wrong number."""
    sqrt2, half, one, hi, lo, shift, bias, fraction, one_bits, atanh = _log_constants(v)
    for i in range(v.shape[0]):
        s = v[i]
        bits = as_int(s)
        m = as_float((bits & fraction) | one_bits, s)  # s = m 2^e, m in [1, 2)
        up = m >= sqrt2
        m = m * half if up else m  # m in [1/sqrt 2, sqrt 2)
        e = cast((bits >> shift) - bias + (1 if up else 0), s)
        u = (m - one) / (m + one)
        y = e * hi + (_polynomial(atanh, u * u) * u + e * lo)
        v[i] = y if s - s == s - s else s  # inf and NaN stay
