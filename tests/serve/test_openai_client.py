"""`attend serve` through the real OpenAI client: embeddings equal `attend embed`'s bit for bit
(float and base64), a seeded chat completion equals `attend generate` with the same options,
streamed or not, and the legacy completions, models, tokenize and metrics endpoints answer in
their documented shapes."""
import base64
import json
import os
import struct
import subprocess

import openai
import pytest

from serve_harness import Server, chat_model_id, embedding_model_id

ATTEND = os.environ["ATTEND_BINARY"]
TEXTS = ["The cat sat on the mat.", "Café déjà vu — naïve résumé 😀", "a"]


@pytest.fixture(scope="module")
def server():
    with Server(ATTEND) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def float32_bits(values):
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


def attend_embed(texts):
    out = subprocess.run([ATTEND, "embed", *texts], check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["embedding"] for line in out.splitlines()]


def attend_generate(prompt, *flags):
    out = subprocess.run([ATTEND, "generate", "--chat", prompt, "--json", *flags], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def test_embeddings_equal_attend_embed_bit_for_bit(client):
    reference = [float32_bits(e) for e in attend_embed(TEXTS)]
    as_floats = client.embeddings.create(model=embedding_model_id(), input=TEXTS, encoding_format="float")
    assert [d.index for d in as_floats.data] == [0, 1, 2]
    assert [float32_bits(d.embedding) for d in as_floats.data] == reference
    as_base64 = client.embeddings.create(model=embedding_model_id(), input=TEXTS)  # the client asks for base64
    assert [float32_bits(d.embedding) for d in as_base64.data] == reference
    assert as_floats.usage.prompt_tokens == as_base64.usage.prompt_tokens > 3 * 2
    one = client.embeddings.create(model=embedding_model_id(), input=TEXTS[1], encoding_format="float")
    assert float32_bits(one.data[0].embedding) == reference[1]


def test_token_array_inputs_are_the_tokenized_text(server, client):
    status, tokenized = server.request("POST", "/tokenize", {"model": embedding_model_id(), "content": TEXTS[0]})
    assert status == 200 and tokenized["tokens"][0] == 101 and tokenized["tokens"][-1] == 102  # [CLS] ... [SEP]
    by_ids = client.embeddings.create(model=embedding_model_id(), input=[tokenized["tokens"]], encoding_format="float")
    by_text = client.embeddings.create(model=embedding_model_id(), input=TEXTS[0], encoding_format="float")
    assert float32_bits(by_ids.data[0].embedding) == float32_bits(by_text.data[0].embedding)


# The CLI samples with llama.cpp's top-k 40 and min-p 0.05 by default; the API with OpenAI's (neither).
SAMPLING = dict(temperature=0.8, top_p=0.9, seed=1234, max_tokens=24)
CLI_SAMPLING = ["--temperature", "0.8", "--top-p", "0.9", "--top-k", "0", "--min-p", "0", "--seed", "1234", "--max-tokens", "24"]
QUESTION = "Name three colours of the rainbow."


def test_seeded_chat_equals_attend_generate(client):
    expected = attend_generate(QUESTION, *CLI_SAMPLING)
    reply = client.chat.completions.create(model=chat_model_id(), messages=[{"role": "user", "content": QUESTION}],
                                           **SAMPLING)
    assert reply.choices[0].message.content == expected["text"]
    assert reply.choices[0].finish_reason == expected["finish_reason"]
    assert reply.usage.prompt_tokens == expected["usage"]["prompt_tokens"]
    assert reply.usage.completion_tokens == expected["usage"]["completion_tokens"]
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")


def test_streamed_chat_is_the_same_text(client):
    expected = attend_generate(QUESTION, *CLI_SAMPLING)
    stream = client.chat.completions.create(model=chat_model_id(), messages=[{"role": "user", "content": QUESTION}],
                                            stream=True, stream_options={"include_usage": True}, **SAMPLING)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected["text"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [expected["finish_reason"]]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == expected["usage"]["completion_tokens"]


def test_chat_logprobs(client):
    reply = client.chat.completions.create(model=chat_model_id(), messages=[{"role": "user", "content": "Hi"}],
                                           temperature=0, max_tokens=5, logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert len(content) == reply.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].token == entry.token  # greedy: the chosen token is the most probable
        assert bytes(entry.bytes).decode("utf-8", "replace") == entry.token


def test_completions_and_stop(client):
    reply = client.completions.create(model=chat_model_id(), prompt="The capital of France is", max_tokens=16,
                                      temperature=0, stop=["."], logprobs=2)
    assert reply.choices[0].text == " Paris" and reply.choices[0].finish_reason == "stop"
    # Every generated token has its logprob, the stop string's too (usage counts it); the text ends before it.
    assert reply.choices[0].logprobs.tokens == [" Paris", "."] and reply.usage.completion_tokens == 2
    assert reply.choices[0].logprobs.text_offset == [0, 6]
    assert len(reply.choices[0].logprobs.top_logprobs[0]) == 2
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=chat_model_id(), prompt="The capital of France is", max_tokens=16, temperature=0, stop=["."],
        stream=True))
    assert streamed == " Paris"


def test_models_tokenize_detokenize_metrics(server, client):
    assert sorted(m.id for m in client.models.list().data) == sorted([chat_model_id(), embedding_model_id()])
    status, tokens = server.request("POST", "/tokenize", {"content": "Hello world"})
    assert status == 200 and tokens["model"] == chat_model_id() and len(tokens["tokens"]) == 2
    status, text = server.request("POST", "/detokenize", {"tokens": tokens["tokens"]})
    assert status == 200 and text["content"] == "Hello world"
    status, health = server.request("GET", "/health")
    assert status == 200 and health == {"status": "ok"}
    status, metrics = server.request("GET", "/metrics")
    assert status == 200
    for name in ["attend_requests_total{route=\"/v1/embeddings\",status=\"200\"}",
                 "attend_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"+Inf\"}",
                 "attend_completion_tokens_total", "attend_embedding_batch_inputs_count",
                 "attend_decode_batch_sequences_count", "attend_queue_depth{queue=\"generation\"}"]:
        assert name in metrics, name


def test_errors_reach_the_client_as_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as error:
        client.embeddings.create(model="no-such-model", input="x")
    assert error.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(model=chat_model_id(), messages=[], max_tokens=4)
    assert "empty" in error.value.message
