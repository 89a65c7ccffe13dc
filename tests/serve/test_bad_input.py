"""Bad requests to `attend serve`: each is answered with a 4xx and an OpenAI error body, and the
server keeps serving (a good request after each succeeds). Also: a client that stalls half-way
is cut off within the read timeout, a client that drops a stream frees its sequence, the API key
is checked, requests past --max-concurrent get 429, and SIGTERM lets a stream in flight finish."""
import http.client
import json
import os
import socket
import threading
import time

import pytest

from serve_harness import Server, chat_model_id, embedding_model_id, wait_until

ATTEND = os.environ["ATTEND_BINARY"]
GOOD_EMBEDDING = {"model": embedding_model_id(), "input": "still serving"}


@pytest.fixture(scope="module")
def server():
    with Server(ATTEND, "--read-timeout", "2", "--max-body-bytes", "1048576") as s:
        yield s


def expect_error(server, status, code, path, body, headers=None):
    got, answer = server.request("POST", path, body, headers)
    assert got == status, answer
    assert set(answer["error"]) == {"message", "type", "param", "code"}, answer
    assert answer["error"]["code"] == code, answer
    good, reply = server.request("POST", "/v1/embeddings", GOOD_EMBEDDING)
    assert good == 200 and len(reply["data"][0]["embedding"]) == 384
    return answer["error"]


CHAT = {"model": chat_model_id(), "messages": [{"role": "user", "content": "Hi"}]}

CASES = [
    ("malformed JSON", 400, "invalid_json", "/v1/embeddings", '{"model": "x", "input": '),
    ("not an object", 400, "invalid_type", "/v1/embeddings", "[1, 2]"),
    ("model of the wrong type", 400, "invalid_type", "/v1/embeddings", {"model": 5, "input": "x"}),
    ("input of the wrong type", 400, "invalid_type", "/v1/embeddings", {"model": embedding_model_id(), "input": 5}),
    ("empty input list", 400, "invalid_value", "/v1/embeddings", {"model": embedding_model_id(), "input": []}),
    ("token id out of range", 400, "invalid_value", "/v1/embeddings",
     {"model": embedding_model_id(), "input": [[101, 999999, 102]]}),
    ("input longer than the context", 400, "context_length_exceeded", "/v1/embeddings",
     {"model": embedding_model_id(), "input": "word " * 600}),
    ("invalid UTF-8", 400, "invalid_json", "/v1/embeddings",
     b'{"model": "all-MiniLM-L6-v2", "input": "caf\xe9"}'),
    ("unknown model", 404, "model_not_found", "/v1/embeddings", {"model": "gpt-9", "input": "x"}),
    ("unknown chat model", 404, "model_not_found", "/v1/chat/completions", dict(CHAT, model="gpt-9")),
    ("negative max_tokens", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, max_tokens=-1)),
    ("zero max_tokens", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, max_tokens=0)),
    ("huge max_tokens", 400, "context_length_exceeded", "/v1/chat/completions", dict(CHAT, max_tokens=1000000)),
    ("max_tokens past int64", 400, "invalid_type", "/v1/chat/completions", '{"model": "SmolLM2-135M-Instruct", '
     '"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 99999999999999999999}'),
    ("fractional max_tokens", 400, "invalid_type", "/v1/chat/completions", dict(CHAT, max_tokens=2.5)),
    ("temperature out of range", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, temperature=3)),
    ("top_p zero", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, top_p=0)),
    ("n of 2", 400, "unsupported_value", "/v1/chat/completions", dict(CHAT, n=2)),
    ("empty stop", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, stop=[""])),
    ("five stops", 400, "invalid_type", "/v1/chat/completions", dict(CHAT, stop=["a", "b", "c", "d", "e"])),
    ("unknown role", 400, "invalid_value", "/v1/chat/completions",
     dict(CHAT, messages=[{"role": "wizard", "content": "Hi"}])),
    ("message without content", 400, "missing_required_parameter", "/v1/chat/completions",
     dict(CHAT, messages=[{"role": "user"}])),
    ("template markers in content", 400, "invalid_value", "/v1/chat/completions",
     dict(CHAT, messages=[{"role": "user", "content": "<|im_end|>"}])),
    ("prompt token out of range", 400, "invalid_value", "/v1/completions",
     {"model": chat_model_id(), "prompt": [1, -5]}),
    ("empty prompt", 400, "invalid_value", "/v1/completions", {"model": chat_model_id(), "prompt": ""}),
    ("top_logprobs without logprobs", 400, "invalid_value", "/v1/chat/completions", dict(CHAT, top_logprobs=2)),
    ("unknown route", 404, "unknown_url", "/v1/images/generations", {}),
]


@pytest.mark.parametrize("name,status,code,path,body", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_a_4xx_and_the_server_goes_on(server, name, status, code, path, body):
    expect_error(server, status, code, path, body)


def test_wrong_method(server):
    status, answer = server.request("GET", "/v1/embeddings")
    assert status == 405 and answer["error"]["code"] == "method_not_allowed"


def test_a_10_mb_body_is_refused(server):
    body = json.dumps({"model": embedding_model_id(), "input": "x" * (10 << 20)})
    try:
        status, answer = server.request("POST", "/v1/embeddings", body)
        assert status == 413, answer
    except (ConnectionError, http.client.HTTPException):
        pass  # the server may close before the client has sent it all
    good, _ = server.request("POST", "/v1/embeddings", GOOD_EMBEDDING)
    assert good == 200


def test_a_client_that_stalls_half_way_is_cut_off(server):
    with server.raw_socket() as stalled:
        stalled.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\": ")
        start = time.monotonic()
        stalled.settimeout(30)
        try:
            leftover = stalled.recv(65536)  # the server closes (possibly after an error response)
        except ConnectionResetError:
            leftover = b""
        assert time.monotonic() - start < 10, "the stalled connection was held past the read timeout"
        assert leftover == b"" or leftover.startswith(b"HTTP/1.1 4"), leftover
    good, _ = server.request("POST", "/v1/embeddings", GOOD_EMBEDDING)
    assert good == 200


def test_a_client_that_drops_a_stream_frees_its_sequence(server):
    body = json.dumps(dict(CHAT, max_tokens=4000, stream=True, temperature=1.0, seed=3, ignore_eos=True,
                           messages=[{"role": "user", "content": "Write a very long story about a dragon."}]))
    with server.raw_socket() as client:
        client.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        received = b""
        while received.count(b"data: ") < 3:
            received += client.recv(65536)
        wait_until(lambda: server.metric("attend_active_sequences") == 1, 10, "one active sequence")
    wait_until(lambda: server.metric("attend_active_sequences") == 0, 10, "the dropped stream's sequence freed")
    good, _ = server.request("POST", "/v1/embeddings", GOOD_EMBEDDING)
    assert good == 200


def test_api_key():
    with Server(ATTEND, "--api-key", "s3cret", "--chat-model", "none") as keyed:
        status, answer = keyed.request("POST", "/v1/embeddings", GOOD_EMBEDDING)
        assert status == 401 and answer["error"]["code"] == "invalid_api_key"
        status, _ = keyed.request("POST", "/v1/embeddings", GOOD_EMBEDDING, {"Authorization": "Bearer s3cre"})
        assert status == 401
        status, _ = keyed.request("POST", "/v1/embeddings", GOOD_EMBEDDING, {"Authorization": "Bearer s3cret"})
        assert status == 200
        assert keyed.request("GET", "/health")[0] == 200  # probes need no key


def read_stream_to_done(sock, into, data=b""):
    """The stream's bytes after `data` (what came with the headers) until [DONE] or the end."""
    while b"data: [DONE]" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    into.append(data)


def open_stream(server, max_tokens):
    body = json.dumps(dict(CHAT, max_tokens=max_tokens, stream=True, temperature=0, seed=1, ignore_eos=True,
                           messages=[{"role": "user", "content": "Count from one to one hundred in words."}]))
    sock = server.raw_socket()
    sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
                  f"{body}").encode())
    head = b""
    while b"\r\n\r\n" not in head:  # the status line and headers, however the bytes arrive
        chunk = sock.recv(65536)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    # The bytes after the headers are the stream's first: on a loaded machine the whole stream
    # may have arrived with them.
    return sock, head.split(b"\r\n\r\n", 1)[1]


def test_past_max_concurrent_is_429_and_sigterm_finishes_the_stream():
    with Server(ATTEND, "--max-concurrent", "1", "--embedding-model", "none") as limited:
        streams = []
        sock, first = open_stream(limited, 1000)  # long enough to be in flight on a loaded machine
        status, answer = limited.request("POST", "/v1/completions",
                                         {"model": chat_model_id(), "prompt": "Hi", "max_tokens": 1})
        assert status == 429 and answer["error"]["type"] == "rate_limit_error", answer
        reader = threading.Thread(target=read_stream_to_done, args=(sock, streams, first))
        reader.start()
        # SIGTERM while the stream runs; the server ends it first: 1,000 tokens, ~4 s in a release build,
        # more than a minute in a sanitized one on a loaded machine (scripts/test --sanitize).
        assert limited.stop(timeout=600) == 0
        reader.join(600)
        sock.close()
        assert b"data: [DONE]" in streams[0], streams
        assert b"\"finish_reason\":\"" in streams[0]  # its last chunk
        assert any("attend serve: stopped" in line for line in limited.log)
