#!/usr/bin/env python3
# fit_exp2.py — fits the polynomial 2^f of cl_kernels/attention.cl's att_exp2 and prints its coefficients and its worst relative error in float arithmetic.
"""2^f ~ P(f) on |f| <= 1/2, P of degree 6 with P(0) = 1 (so that a score
equal to its block's maximum gives exactly 1). Fitted by iteratively
reweighted least squares towards the smallest worst relative error, on
Chebyshev points; then the coefficients are rounded to float and P is
evaluated as the kernel does (Horner with fma, in float32) on 200001
points; the worst relative error is printed.

Deterministic; needs only numpy (Debian's python3-numpy):
    python3 build-aux/fit_exp2.py
"""
import numpy as np

DEG = 6


def fit(f, y):
    lw = np.ones_like(f)
    for _ in range(40):
        a = np.vstack([f ** i for i in range(1, DEG + 1)]).T / y[:, None]
        w = np.sqrt(lw)
        c = np.linalg.lstsq(a * w[:, None], (y - 1) / y * w, rcond=None)[0]
        err = np.abs(1 + f * np.polyval(c[::-1], f) / 1 - y) / y
        lw = lw * (err / err.max() + 1e-3)
        lw /= lw.mean()
    return np.concatenate([[1.0], c]).astype(np.float32)


def horner32(c, f):
    acc = np.full_like(f, np.float32(c[-1]))
    for k in c[-2::-1]:
        acc = (acc.astype(np.float64) * f + np.float64(np.float32(k))).astype(np.float32)
    return acc


def main():
    n = 4000
    f = (np.cos(np.pi * (np.arange(n) + 0.5) / n)[::-1]) / 2
    c = fit(f, 2.0 ** f)
    ft = np.linspace(-0.5, 0.5, 200001).astype(np.float32)
    got = horner32(c, ft).astype(np.float64)
    worst = (np.abs(got - 2.0 ** ft.astype(np.float64)) / 2.0 ** ft).max()
    print("P (from f^0):", ", ".join("%.9ef" % v for v in c))
    print("worst relative error in float on [-1/2, 1/2]: %.2e" % worst)


if __name__ == "__main__":
    main()
