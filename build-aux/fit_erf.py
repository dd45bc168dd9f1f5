#!/usr/bin/env python3
# fit_erf.py — fits the rational erf of cl_kernels/activation.h and prints its coefficients and its worst error in float arithmetic.
"""erf(t) ~ t P(t^2) / Q(t^2) on |t| <= 3.92 (beyond, erf rounds to +-1 in
float), P of degree 5, Q of degree 5 with Q(0) = 1. Fitted by iteratively
reweighted least squares towards the smallest worst absolute error, on
Chebyshev points; the reference is Python's math.erf (double). Then every
coefficient is rounded to float and the fit is evaluated as the kernels do
(Horner, in float32) on 200000 points; the worst error is printed.

Deterministic; needs only numpy (Debian's python3-numpy):
    python3 build-aux/fit_erf.py
"""
import math

import numpy as np

LIMIT = 3.92
DEG_P, DEG_Q = 5, 5


def fit(t, f):
    u, g = t * t, f / t
    lw, q = np.ones_like(u), np.ones_like(u)
    for _ in range(30):
        cols = [u ** i for i in range(DEG_P + 1)]
        cols += [-g * u ** i for i in range(1, DEG_Q + 1)]
        a = np.vstack(cols).T
        w = np.sqrt(lw) / q * t
        sol = np.linalg.lstsq(a * w[:, None], g * w, rcond=None)[0]
        p, qc = sol[:DEG_P + 1], np.concatenate([[1.0], sol[DEG_P + 1:]])
        q = np.polyval(qc[::-1], u)
        err = np.abs(t * np.polyval(p[::-1], u) / q - f)
        lw = lw * (err / err.max() + 1e-3)
        lw /= lw.mean()
    return p.astype(np.float32), qc.astype(np.float32)


def horner32(c, u):
    acc = np.float32(c[-1])
    for k in c[-2::-1]:
        acc = acc * u + np.float32(k)
    return acc


def main():
    n = 4000
    t = (np.cos(np.pi * (np.arange(n) + 0.5) / n)[::-1] + 1) / 2 * LIMIT
    t = t[t > 1e-6]
    p, q = fit(t, np.array([math.erf(v) for v in t]))
    tt = np.linspace(0, LIMIT, 200001)[1:].astype(np.float32)
    u = tt * tt
    got = (tt * horner32(p, u) / horner32(q, u)).astype(np.float64)
    worst = np.abs(got - np.array([math.erf(float(v)) for v in tt])).max()
    print("P:", ", ".join("%.9ef" % c for c in p))
    print("Q:", ", ".join("%.9ef" % c for c in q))
    print("worst |error| in float on [0, %.2f]: %.2e" % (LIMIT, worst))


if __name__ == "__main__":
    main()
