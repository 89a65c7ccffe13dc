"""attend.LanguageModel on the shipped SmolLM2-135M-Instruct (skipped without scripts/setup's data)."""
import os

import numpy as np
import pytest

import attend

pytestmark = pytest.mark.skipif(not os.path.exists(attend.default_language_model_path()),
                                reason="no SmolLM2 GGUF (scripts/setup installs it)")


@pytest.fixture(scope="module")
def model():
    return attend.LanguageModel()


def test_tokenizer_round_trip(model):
    text = "Größenordnung: 1234 tokens, 東京 👩‍👩‍👧"
    ids = model.tokenize(text)
    assert all(0 <= i < model.vocabulary_size for i in ids)
    assert model.detokenize(ids) == text
    assert model.tokenize("<|im_start|>user") [0] == 1  # a special token matched whole


def test_logits_last_and_all_positions(model):
    ids = model.tokenize("The capital of France is")
    last = model.logits(ids)
    every = model.logits(ids, all_positions=True)
    assert last.shape == (model.vocabulary_size,) and last.dtype == np.float32
    assert every.shape == (len(ids), model.vocabulary_size)
    assert model.detokenize([int(last.argmax())]) == " Paris"
    np.testing.assert_allclose(every[-1], last, atol=1e-4)


def test_generation_is_seeded_and_streams_the_same_text(model):
    text = model.generate("Once upon a time", max_tokens=12, seed=5)
    assert text == model.generate("Once upon a time", max_tokens=12, seed=5)
    stream = model.generate("Once upon a time", max_tokens=12, seed=5, stream=True)
    assert "".join(stream) == text
    assert stream.finish_reason == "length" and len(stream.tokens) == 12
    assert model.generate("The capital of France is", temperature=0, max_tokens=8, stop=["."]) == " Paris"


def test_chat_answers_in_the_template(model):
    answer = model.chat([{"role": "user", "content": "What is 2+2?"}], temperature=0, max_tokens=30)
    assert "4" in answer


def test_bad_input_is_refused(model):
    with pytest.raises(ValueError, match="temperature"):
        model.generate("hi", temperature=float("nan"))
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        model.generate("hi", max_tokens=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.logits([model.vocabulary_size])
    with pytest.raises(ValueError, match="role 'robot'"):
        model.chat([{"role": "robot", "content": "hi"}])
    with pytest.raises(ValueError, match="not a GGUF file"):
        attend.LanguageModel(os.path.join(os.path.dirname(__file__), "conftest.py"))


def test_stored_and_float32_weights_agree_on_the_next_token(model):
    widened = attend.LanguageModel(weights="float32")
    ids = model.tokenize("The capital of France is")
    stored, exact = model.logits(ids), widened.logits(ids)
    assert int(stored.argmax()) == int(exact.argmax())
    def probabilities(logits):
        e = np.exp(logits.astype(np.float64) - logits.max())
        return e / e.sum()
    # Quantized activations: the next-token distribution near float32's, not the same bits.
    assert 0 < np.abs(probabilities(stored) - probabilities(exact)).max() < 0.05
    with pytest.raises(ValueError, match="unknown weight precision 'q3'"):
        attend.LanguageModel(weights="q3")
