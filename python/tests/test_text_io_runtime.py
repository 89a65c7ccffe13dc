"""Tokenizer and embeddings against Hugging Face's golden outputs, safetensors, version, threads."""
import json
import os
import re

import numpy as np
import pytest

import attend
from conftest import GOLDEN, ROOT

needs_model = pytest.mark.skipif(attend.default_model_directory() == "", reason="all-MiniLM-L6-v2 not installed")


def golden(name):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@needs_model
def test_tokenizer_ids_equal_hugging_face():
    tokenizer = attend.BertTokenizer.from_directory()
    cases = golden("bert_tokenizer_ids.jsonl")
    assert len(cases) > 400  # about half are raw bytes that are not UTF-8 (the C++ test reads those)
    checked = 0
    for case in cases:
        if "text_hex" in case:  # raw bytes; a Python str holds only valid UTF-8
            try:
                case["text"] = bytes.fromhex(case["text_hex"]).decode("utf-8")
            except UnicodeDecodeError:
                continue
        options = {"max_length": case["max_length"], "truncate": True} if "max_length" in case else {}
        if "pair" in case:
            encoding = tokenizer.encode_pair(case["text"], case["pair"], **options)
        else:
            encoding = tokenizer.encode(case["text"], **options)
        checked += 1
        assert encoding.ids == case["ids"], case["name"]
        assert encoding.token_type_ids == case["token_type_ids"], case["name"]
    assert checked >= 200


@needs_model
def test_tokenizer_truncation_is_explicit():
    tokenizer = attend.BertTokenizer.from_directory()
    with pytest.raises(ValueError, match="max"):
        tokenizer.encode("one two three four five", max_length=4)
    encoding = tokenizer.encode("one two three four five", max_length=4, truncate=True)
    assert encoding.truncated and len(encoding.ids) == 4 and encoding.untruncated_length == 7
    with pytest.raises(ValueError, match="truncate=True needs max_length"):
        tokenizer.encode("x", truncate=True)


@needs_model
def test_embeddings_equal_sentence_transformers():
    rows = [r for r in golden("minilm_embeddings.jsonl") if r["kind"] == "sentence"]
    encoder = attend.SentenceEncoder.from_directory()
    vectors = encoder.embed([r["text"] for r in rows], batch_size=7)
    assert vectors.shape == (len(rows), encoder.dimension) and vectors.dtype == np.float32
    expected = np.array([r["embedding"] for r in rows])
    assert np.max(np.abs(vectors - expected)) <= 1e-5
    one_by_one = np.concatenate([encoder.embed([r["text"]], batch_size=1) for r in rows[:5]])
    if "kernels skx" in attend.blas_description():
        assert np.array_equal(one_by_one, vectors[:5])  # bitwise, whatever the batch
    else:  # BLIS's AVX2 kernels sum small products in another order (README, Threads)
        assert np.max(np.abs(one_by_one - vectors[:5])) <= 1e-6


@needs_model
def test_token_embeddings_pool_to_the_sentence_embedding():
    encoder = attend.SentenceEncoder.from_directory()
    text = "Attention is all you need."
    tokens = encoder.token_embeddings(text)
    assert tokens.shape == (len(encoder.encode([text])[0].ids), encoder.dimension)
    mean = tokens.astype(np.float64).mean(axis=0)  # all-MiniLM-L6-v2: mean pooling, then L2 norm
    np.testing.assert_allclose(mean / np.linalg.norm(mean), encoder.embed([text])[0], atol=1e-6)


@needs_model
def test_quantized_gguf_file_loads_and_stays_near_float32(tmp_path):
    path = str(tmp_path / "minilm-q8_0.gguf")
    attend.quantize_bert(attend.default_model_directory(), "q8_0", path)
    texts = ["Attention is all you need.", "a short one"]
    quantized = attend.SentenceEncoder.from_directory(path).embed(texts)
    full = attend.SentenceEncoder.from_directory().embed(texts)
    assert (quantized * full).sum(axis=1).min() >= 0.999  # unit vectors: the cosines
    assert not np.array_equal(quantized, full)
    with pytest.raises(OSError, match="refusing to overwrite the existing file"):
        attend.quantize_bert(attend.default_model_directory(), "q4_1", path)


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(OSError, match="is not a BERT model directory: it has no config.json"):
        attend.SentenceEncoder.from_directory(str(tmp_path))


def test_safetensors_round_trip(tmp_path):
    path = str(tmp_path / "t.safetensors")
    tensors = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.linspace(0, 1, 4),
        "c": np.array([1, -2], dtype=np.int64),
        "d": np.array([True, False]),
    }
    attend.save_safetensors(path, tensors, {"task": "test"})
    loaded, metadata = attend.load_safetensors(path)
    assert metadata == {"task": "test"} and list(loaded) == ["a", "b", "c", "d"]
    for name in ("a", "b", "c"):
        assert loaded[name].dtype == tensors[name].dtype and np.array_equal(loaded[name], tensors[name])
    assert loaded["d"].dtype == np.uint8 and list(loaded["d"]) == [1, 0]
    with pytest.raises(OSError, match="refusing to overwrite the existing file"):
        attend.save_safetensors(path, tensors)
    attend.save_safetensors(path, {"a": tensors["a"]}, overwrite=True)
    assert list(attend.load_safetensors(path)[0]) == ["a"]
    with pytest.raises(ValueError, match="'e' must be"):
        attend.save_safetensors(path, {"e": np.zeros(2, dtype=np.complex64)}, overwrite=True)
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError):
        attend.load_safetensors(str(tmp_path / "bad.safetensors"))
    with pytest.raises(OSError):
        attend.load_safetensors(str(tmp_path / "absent.safetensors"))


def test_version_is_cmakes():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        declared = re.search(r"project\(attend VERSION ([0-9.]+)", f.read()).group(1)
    assert attend.version() == declared == attend.__version__
    assert "sanitizers" in attend.build_options() and "BLIS" in attend.blas_description()


def test_results_do_not_depend_on_the_thread_count(rng):
    q = rng.standard_normal((3, 4, 70, 16)).astype(np.float32)
    k = rng.standard_normal((3, 4, 90, 16)).astype(np.float32)
    before = attend.num_threads()
    try:
        attend.set_num_threads(1)
        one = attend.scaled_dot_product_attention(q, k, k, causal=True)
        attend.set_num_threads(2)
        two = attend.scaled_dot_product_attention(q, k, k, causal=True)
    finally:
        attend.set_num_threads(before)
    assert np.array_equal(one, two)
    with pytest.raises(ValueError, match="at least 1"):
        attend.set_num_threads(0)


def test_no_public_name_shadows_a_builtin():
    import builtins

    assert [name for name in dir(attend) if not name.startswith("_") and hasattr(builtins, name)] == []
