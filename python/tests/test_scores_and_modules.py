"""Score functions and MultiHeadAttention against float64 NumPy, and the key/value cache."""
import numpy as np
import pytest

import attend
from conftest import reference_attention


def test_score_functions(rng):
    q, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    dots = np.einsum("bnd,bmd->bnm", q, k)
    np.testing.assert_allclose(attend.dot_scores(q, k), dots, atol=1e-12)
    np.testing.assert_allclose(attend.scaled_dot_scores(q, k), dots / 2, atol=1e-12)
    w = rng.standard_normal((4, 4))
    np.testing.assert_allclose(attend.general_scores(q, k, w), np.einsum("bnd,de,bme->bnm", q, w, k), atol=1e-12)
    wq, wk, va = rng.standard_normal((4, 6)), rng.standard_normal((4, 6)), rng.standard_normal(6)
    additive = np.tanh((q @ wq)[:, :, None, :] + (k @ wk)[:, None, :, :]) @ va
    np.testing.assert_allclose(attend.additive_scores(q, k, wq, wk, va), additive, atol=1e-12)
    cosine = dots / np.linalg.norm(q, axis=-1)[:, :, None] / np.linalg.norm(k, axis=-1)[:, None, :]
    np.testing.assert_allclose(attend.cosine_scores(q, k, np.array(np.log(3.0))), 3 * cosine, atol=1e-12)
    assert attend.dot_scores(q.astype(np.float32), k.astype(np.float32)).dtype == np.float32
    with pytest.raises(attend.ShapeError):
        attend.dot_scores(q, k[:, :, :3])


def multi_head_reference(parameters, x, heads, causal):
    """The module's math from its own parameters, in float64 (nn/multi_head_attention.h)."""
    def project(name, inputs):
        return inputs @ parameters[f"{name}.weight"].T + parameters[f"{name}.bias"]  # Linear: x W^T + b

    names = sorted({name.split(".")[0] for name in parameters})
    query, key, value, out = (next(n for n in names if n.startswith(p)) for p in ("q", "k", "v", "o"))
    b, n, e = x.shape
    split = lambda t: t.reshape(b, n, heads, -1).transpose(0, 2, 1, 3)  # noqa: E731
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else None
    o = reference_attention(split(project(query, x)), split(project(key, x)), split(project(value, x)), allowed)[0]
    return project(out, o.transpose(0, 2, 1, 3).reshape(b, n, e))


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_its_math(rng, causal):
    module = attend.MultiHeadAttention(8, 2, dtype=np.float64, seed=5)
    parameters = module.parameters()
    assert module.parameter_count == sum(p.size for p in parameters.values())
    x = rng.standard_normal((2, 4, 8))
    expected = multi_head_reference(parameters, x, 2, causal)
    np.testing.assert_allclose(module(x, causal=causal), expected, atol=1e-12)


def test_cache_decoding_equals_full_recompute(rng):
    module = attend.MultiHeadAttention(8, 4, num_kv_heads=2, positional="rotary", seed=1)
    x = rng.standard_normal((1, 6, 8)).astype(np.float32)
    full = module(x, causal=True)
    cache = attend.KeyValueCache()
    steps = [module(x[:, t : t + 1], causal=True, cache=cache) for t in range(6)]
    assert cache.length == 6
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    cache.clear()
    assert cache.length == 0


def test_load_parameters_checks_before_changing(rng):
    module = attend.MultiHeadAttention(4, 2, dtype=np.float64)
    parameters = module.parameters()
    name = next(iter(parameters))
    bad = {name: np.zeros_like(parameters[name]), "no.such": np.zeros(1)}
    with pytest.raises(ValueError, match="no parameter 'no.such'"):
        module.load_parameters(bad)
    np.testing.assert_array_equal(module.parameters()[name], parameters[name])
    with pytest.raises(attend.ShapeError, match="parameter"):
        module.load_parameters({name: np.zeros((3, 3))})
    module.load_parameters({name: np.ones_like(parameters[name])})
    assert np.all(module.parameters()[name] == 1)


def test_cross_attention_weights_and_bad_options(rng):
    module = attend.MultiHeadAttention(8, 2, key_dim=3, value_dim=5)
    query, key, value = (rng.standard_normal(s).astype(np.float32) for s in ((1, 2, 8), (1, 4, 3), (1, 4, 5)))
    out, weights = module(query, key, value, need_weights=True)
    assert out.shape == (1, 2, 8) and weights.shape == (1, 2, 4)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-6)
    with pytest.raises(ValueError, match="both key and value"):
        module(query, key)
    with pytest.raises(ValueError, match="positional must be"):
        attend.MultiHeadAttention(8, 2, positional="learned")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        attend.MultiHeadAttention(8, 2, dtype=np.int32)
