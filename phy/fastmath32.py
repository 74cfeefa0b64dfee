"""Float32 exp / log / phi that LLVM can vectorise inside numba loops (the LDPC kernel's CN update).

Why hand-written: numba calls libm for ``np.exp`` / ``np.log``, and a loop with a libm call is
not vectorised unless LLVM has Intel's SVML, which the llvmlite wheels here are built without
(``python -m numba -s``: "SVML Operational: False"). These are the textbook range reductions
(exponent bits via an LLVM bitcast, a Taylor polynomial for 2^f, the atanh series for log m),
plain arithmetic and selects, so a loop over SIMD lanes of them vectorises.

Accuracy (``tests/phy/test_fastmath32.py``, against numpy in float64): ``exp_neg`` within 5e-6
relative on [0, 87] (the float32 rounding of x log2(e)); ``log_ge1`` within 5e-6 absolute on
[1, 2^63] (of k ln 2); ``phi`` within 2e-6 absolute of -log(tanh(x / 2)) on Sionna's clamp
[8.5e-8, 16.64], where Sionna's float32 log(e^x + 1) - log(e^x - 1) is off by up to 0.69;
``tanh_half`` within 2e-7 absolute and ``two_atanh`` within 1e-6 relative.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

__all__ = ["exp_neg", "log_ge1", "phi", "tanh_half", "two_atanh"]


@intrinsic
def _float_as_int(typingctx, x):
    """The bits of a float32 as int32 (LLVM bitcast)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _int_as_float(typingctx, i):
    """An int32's bits as float32 (LLVM bitcast)."""
    if i != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


_LOG2E = np.float32(1.4426950408889634)
_LN2 = np.float32(0.6931471805599453)
_SQRT_HALF_BITS = np.int32(np.float32(np.sqrt(0.5)).view(np.int32))
# 2^f = e^(f ln 2) on [-1/2, 1/2]: Taylor coefficients (ln 2)^j / j!, j = 0..6
_E = [np.float32(np.log(2) ** j / np.prod(np.arange(1, j + 1, dtype=np.float64))) for j in range(7)]
_E0, _E1, _E2, _E3, _E4, _E5, _E6 = _E
_THIRD, _FIFTH, _SEVENTH, _NINTH = (np.float32(1 / d) for d in (3, 5, 7, 9))
_PHI_MIN = np.float32(8.5e-8)
_PHI_MAX = np.float32(16.635532)


@numba.njit(cache=True, inline="always", error_model="numpy")
def exp_neg(x):
    """e^(-x) for float32 x in [0, 125]."""
    t = -x * _LOG2E
    n = np.floor(t + np.float32(0.5))
    f = t - n
    p = _E6 * f + _E5
    p = p * f + _E4
    p = p * f + _E3
    p = p * f + _E2
    p = p * f + _E1
    p = p * f + _E0
    return p * _int_as_float(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))


@numba.njit(cache=True, inline="always", error_model="numpy")
def log_ge1(r):
    """log r for float32 r in [1, 2^64) (normal floats; no checks)."""
    # r = 2^k m with m in [sqrt(1/2), sqrt(2)): offset the bits by those of sqrt(1/2) so that the
    # exponent field is k and the mantissa field re-based on sqrt(1/2) is m (no branch)
    shifted = np.int32(_float_as_int(r) - _SQRT_HALF_BITS)
    k = np.float32(np.int32(shifted >> np.int32(23)))
    m = _int_as_float(np.int32(np.int32(shifted & np.int32(0x7FFFFF)) + _SQRT_HALF_BITS))
    s = (m - np.float32(1)) / (m + np.float32(1))  # |s| <= 0.1716
    s2 = s * s
    series = ((_NINTH * s2 + _SEVENTH) * s2 + _FIFTH) * s2 + _THIRD
    return k * _LN2 + np.float32(2) * s * (series * s2 + np.float32(1))


@numba.njit(cache=True, inline="always", error_model="numpy")
def phi(x):
    """phi(x) = -log tanh(x / 2) = log coth(x / 2) for float32 x >= 0, with Sionna's clamp of x and phi.

    coth(x / 2) is (1 + e^-x) / (1 - e^-x) above x = 1/2 and its Laurent series (2 + x^2/6 - x^4/360
    + x^6/15120) / x below (where 1 - e^-x would cancel); both are computed and one selected, so the
    function has no branch.
    """
    x = min(max(x, _PHI_MIN), _PHI_MAX)
    u = exp_neg(x)
    x2 = x * x
    small = x < np.float32(0.5)
    # numerator and denominator selected first: one division
    series = np.float32(2) + x2 * (np.float32(1 / 6) + x2 * (np.float32(-1 / 360) + x2 * np.float32(1 / 15120)))
    numerator = series if small else np.float32(1) + u
    denominator = x if small else np.float32(1) - u
    coth = numerator / denominator
    return min(log_ge1(coth), _PHI_MAX)


@numba.njit(cache=True, inline="always", error_model="numpy")
def tanh_half(x):
    """tanh(x / 2) for float32 x: (1 - e^-|x|) / (1 + e^-|x|) with x's sign, its Taylor series below |x| = 1/2."""
    a = min(abs(x), np.float32(80))
    u = exp_neg(a)
    y, y2 = a * np.float32(0.5), a * a * np.float32(0.25)
    series = y * (np.float32(1) + y2 * (np.float32(-1 / 3) + y2 * (np.float32(2 / 15) + y2 * np.float32(-17 / 315))))
    t = series if a < np.float32(0.5) else (np.float32(1) - u) / (np.float32(1) + u)
    return -t if x < 0 else t


@numba.njit(cache=True, inline="always", error_model="numpy")
def two_atanh(m):
    """2 atanh(m) for float32 |m| < 1: log((1 + |m|) / (1 - |m|)) with m's sign, its odd series below
    |m| = 0.17 (where the ratio would round to 1)."""
    a = abs(m)
    a2 = a * a
    series = np.float32(2) * a * ((((_NINTH * a2 + _SEVENTH) * a2 + _FIFTH) * a2 + _THIRD) * a2 + np.float32(1))
    y = series if a < np.float32(0.17) else log_ge1((np.float32(1) + a) / (np.float32(1) - a))
    return -y if m < 0 else y
