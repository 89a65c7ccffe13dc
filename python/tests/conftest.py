"""Shared fixtures: a seeded NumPy generator and the float64 reference of attention."""
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "tests", "golden")


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


def reference_attention(q, k, v, allowed=None, scale=None, additive=None):
    """softmax(q k^T * scale + additive, masked to `allowed`) v in float64; fully masked rows give 0.

    q (B, H, N, D), k and v (B, H_kv, M, .): key/value head h // (H // H_kv) serves query head h.
    Returns (output (B, H, N, D_v), weights (B, H, N, M), log_sum_exp (B, H, N)).
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = np.einsum("bhnd,bhmd->bhnm", q, k) * scale
    if additive is not None:
        scores = scores + additive
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    exps = np.exp(scores - top)
    sums = exps.sum(axis=-1, keepdims=True)
    weights = np.where(sums > 0, exps / np.where(sums > 0, sums, 1), 0)
    with np.errstate(divide="ignore"):
        log_sum_exp = (np.log(sums) + top)[..., 0]
    return weights @ v, weights, log_sum_exp
