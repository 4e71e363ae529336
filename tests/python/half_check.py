"""Checking float16/bfloat16 ops.

The 16-bit dtypes are storage types: an op widens its inputs to float32,
computes, and rounds the result once. check_half() runs an op on 16-bit
inputs on a device and compares it with the same op run in float32 on the
CPU on the widened inputs, rounded to the 16-bit dtype: an elementwise op
must match to the last bit (or within `ulps` units in the last place where the
float32 maths itself differs between kernels); a reduction, whose additions
run in another order, within `rtol`/`atol` of the float32 result.
"""

from __future__ import annotations

import numpy as np

import ember as em

HALF_DTYPES = [em.float16, em.bfloat16]


def half_inputs(*shapes, dtype, device="cpu", low=-2.0, high=2.0, seed=0):
    """Random 16-bit tensors on `device`, and their exact float32 widenings on the CPU."""
    rng = np.random.default_rng(seed)
    halves, widened = [], []
    for shape in shapes:
        values = rng.uniform(low, high, size=shape).astype(np.float32)
        h = em.tensor(values, dtype=dtype).to(device)
        halves.append(h)
        widened.append(h.cpu().float())
    return halves, widened


def ulp_distance(a: np.ndarray, b: np.ndarray, dtype) -> np.ndarray:
    """Units in the last place of `dtype` between two arrays of its values
    (held exactly as float32): the distance of their bit patterns, ordered so
    that consecutive values differ by one."""
    def ordered(x):
        if dtype == em.float16:
            bits = x.astype(np.float16).view(np.int16).astype(np.int64)
            return np.where(bits < 0, -(bits & 0x7FFF), bits)
        bits = (x.astype(np.float32).view(np.int32) >> 16).astype(np.int64)  # bfloat16's bits
        return np.where(bits < 0, -(bits & 0x7FFF), bits)
    return np.abs(ordered(a) - ordered(b))


def check_half(ember_fn, *halves_and_widened, dtype, ulps=0, rtol=None, atol=0.0, what=""):
    """Compares ember_fn on the 16-bit inputs with ember_fn on their float32
    widenings (CPU), rounded to `dtype`. With rtol=None the comparison is in
    ulps of `dtype` (0: bit for bit); with rtol it is a tolerance on the
    float32 result (for reductions)."""
    halves, widened = halves_and_widened
    out = ember_fn(*halves)
    assert out.dtype == dtype, f"{what}: dtype {out.dtype}, expected {dtype}"
    reference = ember_fn(*widened)
    actual = out.cpu().float().numpy()
    if rtol is None:
        rounded = reference.to(dtype).float().numpy()
        both_nan = np.isnan(actual) & np.isnan(rounded)
        distance = np.where(both_nan, 0, ulp_distance(actual, rounded, dtype))
        worst = int(distance.max()) if distance.size else 0
        assert worst <= ulps, f"{what}: {worst} ulps from the float32 result rounded to {dtype}"
    else:
        np.testing.assert_allclose(actual, reference.numpy(), rtol=rtol, atol=atol, err_msg=what)
    return out
