"""attend.scaled_dot_product_attention against a float64 NumPy reference, option by option."""
import numpy as np
import pytest

import attend
from conftest import reference_attention


def qkv(rng, batch=2, heads=4, kv_heads=4, n=5, m=7, d=8, dv=6, dtype=np.float64):
    q = rng.standard_normal((batch, heads, n, d)).astype(dtype)
    k = rng.standard_normal((batch, kv_heads, m, d)).astype(dtype)
    v = rng.standard_normal((batch, kv_heads, m, dv)).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("implementation", ["auto", "reference"])
def test_plain_float64_matches_numpy(rng, implementation):
    q, k, v = qkv(rng)
    out = attend.scaled_dot_product_attention(q, k, v, implementation=implementation)
    assert out.dtype == np.float64 and out.shape == (2, 4, 5, 6)
    np.testing.assert_allclose(out, reference_attention(q, k, v)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("implementation", ["auto", "fused", "reference"])
def test_float32_matches_numpy(rng, implementation):
    q, k, v = qkv(rng, dtype=np.float32)
    out = attend.scaled_dot_product_attention(q, k, v, causal=True, implementation=implementation)
    assert out.dtype == np.float32
    allowed = np.tril(np.ones((5, 7), dtype=bool))
    np.testing.assert_allclose(out, reference_attention(q, k, v, allowed)[0], rtol=0, atol=2e-6)


def test_causal_alignments(rng):
    q, k, v = qkv(rng)
    top_left = np.arange(7)[None, :] <= np.arange(5)[:, None]
    bottom_right = np.arange(7)[None, :] <= np.arange(5)[:, None] + 2
    out = attend.scaled_dot_product_attention(q, k, v, causal=True)
    np.testing.assert_allclose(out, reference_attention(q, k, v, top_left)[0], atol=1e-12)
    out = attend.scaled_dot_product_attention(q, k, v, causal=True, alignment="bottom-right")
    np.testing.assert_allclose(out, reference_attention(q, k, v, bottom_right)[0], atol=1e-12)


def test_masks_window_softcap_scale_alibi(rng):
    q, k, v = qkv(rng)
    mask = rng.random((2, 1, 5, 7)) > 0.3  # broadcast over heads
    padding = np.zeros((2, 7), dtype=bool)
    padding[1, 5:] = True
    additive = rng.standard_normal((5, 7))
    out = attend.scaled_dot_product_attention(q, k, v, mask=mask, key_padding_mask=padding, additive_mask=additive)
    allowed = mask & ~padding[:, None, None, :]
    np.testing.assert_allclose(out, reference_attention(q, k, v, allowed, additive=additive)[0], atol=1e-12)

    i, j = np.arange(5)[:, None], np.arange(7)[None, :]
    out = attend.scaled_dot_product_attention(q, k, v, window_left=1, window_right=2)
    np.testing.assert_allclose(out, reference_attention(q, k, v, (j >= i - 1) & (j <= i + 2))[0], atol=1e-12)

    out = attend.scaled_dot_product_attention(q, k, v, scale=0.5)
    np.testing.assert_allclose(out, reference_attention(q, k, v, scale=0.5)[0], atol=1e-12)

    cap = 0.7
    out = attend.scaled_dot_product_attention(q, k, v, softcap=cap)
    scores = np.einsum("bhnd,bhmd->bhnm", q, k) / np.sqrt(8)
    capped = cap * np.tanh(scores / cap)
    expected = reference_attention(q, k, v, scale=1.0, additive=capped - np.einsum("bhnd,bhmd->bhnm", q, k))[0]
    np.testing.assert_allclose(out, expected, atol=1e-12)

    slopes = attend.alibi_slopes(4, "float64")
    np.testing.assert_allclose(slopes, [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8])
    out = attend.scaled_dot_product_attention(q, k, v, alibi_slopes=slopes)
    bias = -slopes[None, :, None, None] * np.abs(i - j)[None, None]
    np.testing.assert_allclose(out, reference_attention(q, k, v, additive=bias)[0], atol=1e-12)


def test_grouped_query_weights_and_log_sum_exp(rng):
    q, k, v = qkv(rng, heads=4, kv_heads=2)
    out, weights, lse = attend.scaled_dot_product_attention(q, k, v, need_weights=True, need_log_sum_exp=True)
    expected = reference_attention(q, k, v)
    np.testing.assert_allclose(out, expected[0], atol=1e-12)
    np.testing.assert_allclose(weights, expected[1], atol=1e-12)
    np.testing.assert_allclose(lse, expected[2], atol=1e-12)
    out, weights, lse = attend.scaled_dot_product_attention(q, k, v, need_log_sum_exp=True)
    assert weights is None and lse.shape == (2, 4, 5)


def test_fully_masked_rows_are_zero_and_nan_stays_nan(rng):
    q, k, v = qkv(rng, dtype=np.float32)
    mask = np.ones((5, 7), dtype=bool)
    mask[2] = False
    out, _, lse = attend.scaled_dot_product_attention(q, k, v, mask=mask, need_log_sum_exp=True)
    assert np.all(out[:, :, 2] == 0) and np.all(np.isneginf(lse[:, :, 2]))
    assert np.all(np.isfinite(np.delete(out, 2, axis=2)))
    q[0, 0, 1, 0] = np.nan
    out = attend.scaled_dot_product_attention(q, k, v)
    assert np.all(np.isnan(out[0, 0, 1])) and np.isfinite(out[0, 0, 0]).all()


def test_dropout_is_seeded(rng):
    q, k, v = qkv(rng)
    a = attend.scaled_dot_product_attention(q, k, v, dropout_p=0.5, dropout_seed=3)
    b = attend.scaled_dot_product_attention(q, k, v, dropout_p=0.5, dropout_seed=3)
    c = attend.scaled_dot_product_attention(q, k, v, dropout_p=0.5, dropout_seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_borrowed_and_copied_inputs_agree_and_are_untouched(rng):
    q, k, v = qkv(rng, dtype=np.float32)
    strided = np.asfortranarray(q)  # not C-contiguous: copied
    before = q.copy()
    a = attend.scaled_dot_product_attention(q, k, v)
    b = attend.scaled_dot_product_attention(strided, k, v)
    c = attend.scaled_dot_product_attention(q[:, :, ::1], k.transpose(0, 1, 2, 3), v)
    assert np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(q, before)
    view = attend.scaled_dot_product_attention(np.ascontiguousarray(q[:, ::2]), k[:, ::2], v[:, ::2])
    np.testing.assert_allclose(view, a[:, ::2], atol=1e-6)


def test_result_outlives_everything(rng):
    q, k, v = qkv(rng, dtype=np.float32)
    out = attend.scaled_dot_product_attention(q, k, v)
    copy = out.copy()
    del q, k, v
    import gc

    gc.collect()
    assert np.array_equal(out, copy) and out.flags["OWNDATA"] is False and out.base is not None


def test_bad_input_raises_with_the_shapes(rng):
    q, k, v = qkv(rng)
    with pytest.raises(attend.ShapeError, match=r"k \(2, 4, 7, 8\) and v \(2, 4, 5, 6\)"):
        attend.scaled_dot_product_attention(q, k, np.zeros((2, 4, 5, 6)))
    with pytest.raises(ValueError):
        attend.scaled_dot_product_attention(q, k[:, :3], v[:, :3])  # 4 heads, 3 key/value heads
    with pytest.raises(ValueError, match="implementation must be"):
        attend.scaled_dot_product_attention(q, k, v, implementation="flash")
    with pytest.raises(ValueError, match="fused"):
        attend.scaled_dot_product_attention(q, k, v, implementation="fused")  # float64 has no fused path
    with pytest.raises(ValueError, match="mask must be a bool or integer"):
        attend.scaled_dot_product_attention(q, k, v, mask=np.ones((5, 7), dtype=np.float32))


def test_matches_pytorch_when_installed(rng):
    torch = pytest.importorskip("torch")
    q, k, v = qkv(rng, heads=4, kv_heads=4)
    mask = rng.random((5, 7)) > 0.2
    mask[:, 0] = True
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v)), attn_mask=torch.from_numpy(mask)
    ).numpy()
    np.testing.assert_allclose(attend.scaled_dot_product_attention(q, k, v, mask=mask), expected, atol=1e-12)


def test_weights_larger_than_the_machine_are_refused_before_computing():
    # (1, 1, 2^18, 1) inputs ask for (2^18, 2^18) weights: 256 GiB, refused with the figure
    # instead of starting the computation.
    q = np.broadcast_to(np.zeros((1, 1, 1, 1), np.float32), (1, 1, 1 << 18, 1))
    with pytest.raises(ValueError, match=r"\(1, 1, 262144, 262144\) with 4-byte elements needs 256\.0 GiB"):
        attend.scaled_dot_product_attention(q, q, q, need_weights=True)
