"""test_serve.py — clenc-serve over a real socket: /v1/embeddings, /embed and /rerank against the library's own results bit for bit, the GET endpoints, limits, authentication, malformed input and shutdown.

Expected values come from the library through the clenc package
(clenc_embed_text, clenc_score_pairs; serve_helpers.reference), never from
the server. The small fixture models serve where a check does not need a
real model; all-MiniLM-L6-v2 for the realistic one.
"""
import base64
import json
import socket
import threading
import time

import numpy as np
import pytest

from serve_helpers import (EMBEDDER, MINILM, RERANKER, Server, error_of, floats,
                           metric, reference, same_bits)

TEXTS = ["The cat sits outside", "A man is playing guitar.",
         "Ünïcödé text, with punctuation!?", "short", "",
         "a somewhat longer sentence that goes on for a while to make the batch uneven"]
LONG = " ".join(["tokenization"] * 400)


@pytest.fixture(scope="module")
def minilm():
    server = Server(MINILM)
    yield server, reference(MINILM)
    assert server.stop() == 0


@pytest.fixture(scope="module")
def small():
    server = Server(EMBEDDER)
    yield server, reference(EMBEDDER)
    assert server.stop() == 0


def embeddings_of(answer):
    data = answer["data"]
    assert [d["index"] for d in data] == list(range(len(data)))
    assert all(d["object"] == "embedding" for d in data)
    return floats([d["embedding"] for d in data])


# ------------------------------------------------------------ /v1/embeddings

def test_embeddings_equal_library_bit_for_bit(minilm):
    server, ref = minilm
    status, _, answer = server.post("/v1/embeddings", {"input": TEXTS + [LONG],
                                                       "model": "anything"})
    assert status == 200, answer
    assert answer["object"] == "list" and answer["model"] == "anything"
    assert same_bits(embeddings_of(answer), ref.encode(TEXTS + [LONG]))


def test_embeddings_single_string_and_base64(minilm):
    server, ref = minilm
    expected = ref.encode([TEXTS[0]])
    status, _, answer = server.post("/v1/embeddings", {"input": TEXTS[0]})
    assert status == 200 and same_bits(embeddings_of(answer), expected)
    assert answer["model"] == "all-MiniLM-L6-v2"
    status, _, answer = server.post("/v1/embeddings", {"input": [TEXTS[0]],
                                                       "encoding_format": "base64"})
    assert status == 200
    raw = base64.b64decode(answer["data"][0]["embedding"])
    assert same_bits(np.frombuffer(raw, dtype="<f4")[None, :], expected)


def test_embeddings_usage_counts_real_tokens(small):
    server, ref = small
    texts = TEXTS + [LONG]
    tokens = sum(len(ids) for ids in ref.tokenize(texts)["input_ids"])
    status, _, answer = server.post("/v1/embeddings", {"input": texts})
    assert status == 200
    assert answer["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert same_bits(embeddings_of(answer), ref.encode(texts))


def test_embeddings_of_token_arrays_equal_their_texts(small):
    server, ref = small
    ids = ref.tokenize(TEXTS)["input_ids"]
    expected = ref.encode(TEXTS)
    status, _, answer = server.post("/v1/embeddings", {"input": ids})
    assert status == 200, answer
    assert same_bits(embeddings_of(answer), expected)
    status, _, answer = server.post("/v1/embeddings", {"input": ids[1]})
    assert status == 200 and same_bits(embeddings_of(answer), expected[1:2])
    assert answer["usage"]["prompt_tokens"] == len(ids[1])


def test_embeddings_dimensions_truncate_and_renormalise(minilm):
    server, ref = minilm
    full = ref.encode(TEXTS[:3])
    status, _, answer = server.post("/v1/embeddings", {"input": TEXTS[:3], "dimensions": 64})
    assert status == 200
    got = embeddings_of(answer)
    cut = full[:, :64].astype(np.float64)
    want = cut / np.linalg.norm(cut, axis=1, keepdims=True)
    assert got.shape == (3, 64)
    assert np.max(np.abs(got - want)) < 1e-6
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-6)


# ------------------------------------------------------------------ the GETs

def test_health_info_models(small):
    server, ref = small
    assert server.request("GET", "/health")[:3:2] == (200, {"status": "ok"})
    status, _, info = server.request("GET", "/info")
    assert status == 200
    assert info["model"] == "distilbert" and info["kind"] == "embedding"
    assert info["dim"] == ref.info["hidden"]
    assert info["max_input_tokens"] == ref.info["max_text_tokens"]
    assert info["precision"] == "fp32" and info["device"]
    assert info["limits"]["max_queue"] == 64 and info["limits"]["truncate"] is True
    status, _, models = server.request("GET", "/v1/models")
    assert status == 200 and models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["distilbert"]

