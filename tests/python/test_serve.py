"""test_serve.py — clenc-serve over a real socket: /v1/embeddings, /embed and /rerank against the library's own results bit for bit, the GET endpoints, limits, authentication, malformed input and shutdown.

Expected values come from the library through the clenc package
(clenc_embed_text, clenc_score_pairs; serve_helpers.reference), never from
the server. The small fixture models serve where a check does not need a
real model; all-MiniLM-L6-v2 for the realistic one.
"""
import base64
import json
import os
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
    # float32 rounding of a float64 quotient: 1.5e-8 measured
    assert np.max(np.abs(got - want)) < 1e-7
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


# ------------------------------------------------------- malformed and limits

@pytest.mark.parametrize("body,param,words", [
    (b'{"input": ["a", ', None, "not JSON"),
    (b'[1, 2]', None, "JSON object"),
    ({"inputs": "a"}, "input", "missing"),
    ({"input": 3}, "input", "must be a string"),
    ({"input": []}, "input", "empty"),
    ({"input": ["a", 3]}, "input", "input[1]"),
    ({"input": [[2, 5], [2, "x"]]}, "input", "input[1][1]"),
    ({"input": [[2, 3000]]}, "input", "outside the vocabulary"),
    ({"input": [[]]}, "input", "empty token array"),
    ({"input": "a", "model": 5}, "model", "'model'"),
    ({"input": "a", "encoding_format": "int8"}, "encoding_format", "base64"),
    ({"input": "a", "dimensions": 0}, "dimensions", "1..32"),
    ({"input": "a", "dimensions": "4"}, "dimensions", "1..32"),
])
def test_malformed_requests_are_400_naming_the_field(small, body, param, words):
    server, _ = small
    status, _, answer = server.post("/v1/embeddings", body)
    assert status == 400
    err = error_of(answer)
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert words in err["message"], err


def test_invalid_utf8_is_400_naming_the_input(small):
    server, _ = small
    body = b'{"input": ["fine", "bad \xff byte", "fine"]}'
    status, _, answer = server.post("/v1/embeddings", body)
    assert status == 400
    err = error_of(answer)
    assert err["param"] == "input" and err["message"].startswith("input[1]: ")
    assert "UTF-8" in err["message"] and "0xFF" in err["message"]
    # bad bytes in another field, DEL in another input: the input is still
    # named with its own byte and offset
    body = b'{"model": "m\xfe", "input": ["fine\x7f", "\xc3\xa9\xc3(", "x"]}'
    status, _, answer = server.post("/v1/embeddings", body)
    message = error_of(answer)["message"]
    assert status == 400 and message.startswith("input[1]: ")
    assert "0xC3 at byte offset 2" in message, message
    # U+F7FF (of the escapes' range) is a character like any other...
    assert server.post("/v1/embeddings", b'{"input": ["\xef\x9f\xbf ok"]}')[0] == 200
    # ...but beside invalid bytes the body is refused whole
    status, _, answer = server.post("/v1/embeddings", b'{"input": ["\xef\x9f\xbf", "\xff"]}')
    err = error_of(answer)
    assert status == 400 and err["param"] is None
    assert "body is not valid UTF-8: byte 0xFF at byte offset 19" in err["message"], err


def test_json_nul_is_dropped_as_the_library_drops_it(small):
    server, ref = small
    status, _, answer = server.post("/v1/embeddings", {"input": ["a\u0000b cat", "x"]})
    assert status == 200
    assert same_bits(embeddings_of(answer)[0], ref.encode(["ab cat"])[0])


def test_unknown_path_and_wrong_method(small):
    server, _ = small
    status, _, answer = server.request("GET", "/v2/nothing")
    assert status == 404 and error_of(answer)["code"] == "not_found"
    status, _, answer = server.request("GET", "/v1/embeddings")
    assert status == 405 and "POST" in error_of(answer)["message"]


def test_limits_answer_413():
    server = Server(EMBEDDER, "--max-body-bytes", "4096", "--max-inputs", "4",
                    "--no-truncate")
    try:
        status, _, answer = server.post("/v1/embeddings", {"input": ["x" * 5000]})
        assert status == 413 and "--max-body-bytes" in error_of(answer)["message"]
        status, _, answer = server.post("/v1/embeddings", {"input": ["a"] * 5})
        assert status == 413 and "--max-inputs" in error_of(answer)["message"]
        status, _, answer = server.post("/v1/embeddings", {"input": [LONG[:2000]]})
        assert status == 413 and "truncation is off" in error_of(answer)["message"]
        status, _, answer = server.post("/v1/embeddings", {"input": [[5] * 41]})
        assert status == 413
        status, _, answer = server.post("/embed", {"inputs": [LONG[:2000]], "truncate": True})
        assert status == 200 and len(answer) == 1
        # a connection still works after a refused body
        assert server.post("/v1/embeddings", {"input": ["a"] * 4})[0] == 200
    finally:
        assert server.stop() == 0


def test_api_key_is_401_without_it():
    server = Server(EMBEDDER, "--api-key", "s3cret")
    try:
        status, headers, answer = server.post("/v1/embeddings", {"input": "a"})
        assert status == 401 and error_of(answer)["type"] == "authentication_error"
        assert headers.get("WWW-Authenticate") == "Bearer"
        wrong = {"Authorization": "Bearer s3cre"}
        assert server.post("/v1/embeddings", {"input": "a"}, headers=wrong)[0] == 401
        assert server.request("GET", "/info")[0] == 401
        right = {"Authorization": "Bearer s3cret"}
        assert server.post("/v1/embeddings", {"input": "a"}, headers=right)[0] == 200
        assert server.request("GET", "/health")[0] == 200
    finally:
        assert server.stop() == 0


def test_full_queue_is_503_with_retry_after():
    # The first request waits a second for company in the batcher, holding
    # the only place in the queue.
    server = Server(EMBEDDER, "--max-queue", "1", "--max-wait-ms", "1500")
    try:
        first = {}
        t = threading.Thread(target=lambda: first.update(
            r=server.post("/v1/embeddings", {"input": "first"})))
        t.start()
        time.sleep(0.5)
        status, headers, answer = server.post("/v1/embeddings", {"input": "second"})
        t.join()
        assert status == 503 and headers.get("Retry-After") == "1"
        assert "--max-queue" in error_of(answer)["message"]
        assert first["r"][0] == 200
    finally:
        assert server.stop() == 0


def test_slow_answer_is_504():
    server = Server(EMBEDDER, "--request-timeout-ms", "300", "--max-wait-ms", "2000")
    try:
        start = time.time()
        status, _, answer = server.post("/v1/embeddings", {"input": ["a", "b"]})
        assert status == 504 and error_of(answer)["type"] == "timeout_error"
        assert time.time() - start < 1.5
    finally:
        assert server.stop() == 0


def test_too_many_connections_is_503():
    server = Server(EMBEDDER, "--max-connections", "2")
    idle = []
    try:
        for _ in range(3):
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        time.sleep(0.3)
        status, headers, answer = server.post("/v1/embeddings", {"input": "a"})
        assert status == 503 and "--max-connections" in error_of(answer)["message"]
        for s in idle:
            s.close()
        idle.clear()
        time.sleep(0.3)
        assert server.post("/v1/embeddings", {"input": "a"})[0] == 200
    finally:
        for s in idle:
            s.close()
        assert server.stop() == 0


def test_usage_errors_exit_2():
    import subprocess
    from serve_helpers import SERVE
    for args in (["--port", "70000"], ["--max-queue", "0"], ["--bogus"], []):
        r = subprocess.run([SERVE, *(["--model", EMBEDDER] if args else []), *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "clenc-serve" in r.stderr, (args, r.stderr)


def test_sigterm_drains_requests_under_way_and_exits_0():
    server = Server(EMBEDDER, "--max-wait-ms", "400")
    ref = reference(EMBEDDER)
    expected = ref.encode(TEXTS)
    results = []

    def client():
        results.append(server.post("/v1/embeddings", {"input": TEXTS}))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # all eight are queued, waiting for their batch
    server.proc.send_signal(15)
    for t in threads:
        t.join()
    assert server.proc.wait(30) == 0
    assert len(results) == 8
    for status, _, answer in results:
        assert status == 200 and same_bits(embeddings_of(answer), expected)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


# ------------------------------------------------------- /embed and /rerank

@pytest.fixture(scope="module")
def reranker():
    server = Server(RERANKER)
    yield server, reference(RERANKER)
    assert server.stop() == 0


def test_tei_embed_normalizes_by_default(small):
    server, ref = small
    status, _, answer = server.post("/embed", {"inputs": TEXTS})
    assert status == 200
    assert same_bits(floats(answer), ref.encode(TEXTS, normalize_embeddings=True))
    status, _, answer = server.post("/embed", {"inputs": TEXTS[1], "normalize": False})
    assert status == 200
    assert same_bits(floats(answer), ref.encode(TEXTS[1:2], normalize_embeddings=False))
    status, _, answer = server.post("/embed", {"inputs": "a", "normalize": "yes"})
    assert status == 400 and error_of(answer)["param"] == "normalize"


def test_tei_rerank_equals_score_pairs_best_first(reranker):
    server, ref = reranker
    query, passages = "what is a cat", TEXTS
    scores = ref.predict([(query, p) for p in passages])
    status, _, answer = server.post("/rerank", {"query": query, "texts": passages})
    assert status == 200, answer
    assert [r["index"] for r in answer] == sorted(range(len(passages)),
                                                  key=lambda i: (-scores[i], i))
    for r in answer:
        assert set(r) == {"index", "score"}
        assert same_bits(floats([r["score"]]), scores[r["index"]:r["index"] + 1])
    raw = ref.predict([(query, p) for p in passages], activation_fn=lambda x: x)
    status, _, answer = server.post("/rerank", {"query": query, "texts": passages,
                                                "raw_scores": True, "return_text": True})
    assert status == 200
    for r in answer:
        assert r["text"] == passages[r["index"]]
        assert same_bits(floats([r["score"]]), raw[r["index"]:r["index"] + 1])


def test_endpoint_for_the_other_kind_of_model_is_400(small, reranker):
    server, _ = reranker
    for path, body in (("/embed", {"inputs": "a"}), ("/v1/embeddings", {"input": "a"})):
        status, _, answer = server.post(path, body)
        assert status == 400
        message = error_of(answer)["message"]
        assert "bert_rerank" in message and "head bert" in message
    status, _, answer = small[0].post("/rerank", {"query": "a", "texts": ["b"]})
    assert status == 400
    assert "embedding model (clenc_model_info.head none)" in error_of(answer)["message"]
    status, _, answer = server.post("/rerank", {"query": "a", "texts": "b"})
    assert status == 400 and error_of(answer)["param"] == "texts"


def test_metrics_count_requests_tokens_and_batches():
    server = Server(EMBEDDER)
    ref = reference(EMBEDDER)
    try:
        tokens = sum(len(ids) for ids in ref.tokenize(TEXTS)["input_ids"])
        assert server.post("/embed", {"inputs": TEXTS})[0] == 200
        assert server.post("/v1/embeddings", {"input": 1.5})[0] == 400
        status, headers, text = server.request("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert metric(text, "clenc_requests_total", '{endpoint="/embed",status="200"}') == 1
        assert metric(text, "clenc_requests_total",
                      '{endpoint="/v1/embeddings",status="400"}') == 1
        assert metric(text, "clenc_tokens_total") == tokens
        assert metric(text, "clenc_inputs_total") == len(TEXTS)
        assert metric(text, "clenc_batch_sequences_count") >= 1
        assert metric(text, "clenc_batch_sequences_sum") == len(TEXTS)
        assert metric(text, "clenc_queue_wait_seconds_count") == len(TEXTS)
        assert metric(text, "clenc_compute_seconds_count") >= 1
        assert metric(text, "clenc_batch_requests_bucket", '{le="+Inf"}') >= 1
    finally:
        assert server.stop() == 0


# ---------------------------------------------------------------- under load

WORDS = ("the cat sat on a mat while dogs ran far away and birds sang "
         "songs of summer in gardens full of quiet light").split()
POOL = [" ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(1 + (i * 13) % 60))
        for i in range(48)]
LOAD_LIMITS = {"--max-body-bytes": 65536, "--max-connections": 64, "--max-queue": 64,
               "--max-inputs": 16}


def memory_bound_kib(server_info):
    """What the server may hold beyond its idle size, from its limits:
    per connection a body, libmicrohttpd's pool and a thread's stack; per
    admitted request a copy of the body (up to 3x, with invalid bytes
    escaped), its JSON tree (at most ~24 bytes a body byte: "1," becomes a
    jansson integer and a slot), the token ids, the vectors and the answer
    text."""
    lim = server_info["limits"]
    body, tokens, dim = lim["max_body_bytes"], server_info["max_input_tokens"], server_info["dim"]
    per_connection = body + 32768 + 65536
    per_request = 4 * body + 24 * body + lim["max_inputs"] * (4 * tokens + 24 * dim) + 65536
    connections = lim["max_connections"] + 32  # answered 503 past the limit
    return (connections * per_connection + lim["max_queue"] * per_request) // 1024


def check_answer(kind, answer, picks, plain, normalized):
    if kind == "embed":
        return same_bits(floats(answer), normalized[picks])
    data = answer["data"]
    if [d["index"] for d in data] != list(range(len(picks))):
        return False
    if kind == "base64":
        got = floats([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in data])
    else:
        got = floats([d["embedding"] for d in data])
    return same_bits(got, plain[picks])


def load_client(server, seed, requests, plain, normalized, failures, stop=None):
    """requests of 1..4 random pool texts on one keep-alive connection, each
    answer checked; returns the statuses seen."""
    import http.client
    rng = np.random.default_rng(seed)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    statuses = []
    for _ in range(requests):
        if stop is not None and stop.is_set() and len(statuses) > 2:
            break
        picks = rng.integers(0, len(POOL), rng.integers(1, 5))
        kind = ("float", "base64", "embed")[rng.integers(0, 3)]
        texts = [POOL[i] for i in picks]
        if kind == "embed":
            path, body = "/embed", {"inputs": texts}
        else:
            path, body = "/v1/embeddings", {"input": texts, "encoding_format": kind}
        try:
            conn.request("POST", path, body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
        except OSError as e:
            statuses.append(type(e).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            if stop is not None and stop.is_set():
                break
            continue
        statuses.append(r.status)
        if r.status == 200 and not check_answer(kind, json.loads(raw), picks, plain,
                                                normalized):
            failures.append((seed, kind, list(picks)))
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.close()
    return statuses


def test_load_32_clients_lose_or_corrupt_nothing(capsys):
    args = [str(x) for kv in LOAD_LIMITS.items() for x in kv]
    server = Server(EMBEDDER, *args)
    ref = reference(EMBEDDER)
    plain, normalized = ref.encode(POOL), ref.encode(POOL, normalize_embeddings=True)
    try:
        info = server.request("GET", "/info")[2]
        # the longest batch the session takes, so that the arena is touched
        assert server.post("/embed", {"inputs": [LONG[:1000]] * 16})[0] == 200
        idle = server.vmhwm_kib()
        failures, statuses = [], {}

        def client(seed):
            statuses[seed] = load_client(server, seed, 50, plain, normalized, failures)

        start = time.time()
        threads = [threading.Thread(target=client, args=(seed,)) for seed in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.time() - start
        peak = server.vmhwm_kib()
        _, _, text = server.request("GET", "/metrics")
    finally:
        assert server.stop() == 0
    assert not failures, failures[:5]
    assert sum(len(s) for s in statuses.values()) == 32 * 50
    assert all(s == 200 for seen in statuses.values() for s in seen)
    # requests shared batches: some batch held inputs of several requests
    one_request = metric(text, "clenc_batch_requests_bucket", '{le="1"}')
    batches = metric(text, "clenc_batch_requests_count")
    assert batches > one_request, text
    assert metric(text, "clenc_batch_requests_sum") > batches
    bound = idle["VmRSS"] + memory_bound_kib(info)
    with capsys.disabled():
        print(f"\ntest_serve load: 32 clients x 50 requests in {seconds:.1f} s, "
              f"{batches:.0f} batches, {batches - one_request:.0f} of several requests; "
              f"server VmHWM {peak['VmHWM']} KiB (idle VmRSS {idle['VmRSS']} KiB, "
              f"bound from the limits {bound} KiB)")
    assert peak["VmHWM"] <= max(bound, idle["VmHWM"])


def test_sigterm_under_load_answers_or_refuses_cleanly():
    server = Server(EMBEDDER)
    ref = reference(EMBEDDER)
    plain, normalized = ref.encode(POOL), ref.encode(POOL, normalize_embeddings=True)
    failures, statuses, stop = [], {}, threading.Event()

    def client(seed):
        statuses[seed] = load_client(server, 100 + seed, 10 ** 6, plain, normalized,
                                     failures, stop)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(16)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.proc.send_signal(15)
    stop.set()
    assert server.proc.wait(30) == 0
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert not failures, failures[:5]
    seen = [s for v in statuses.values() for s in v]
    assert seen.count(200) > 16
    # after the signal: answered, refused (503) or the connection went away
    assert set(seen) <= {200, 503, "ConnectionRefusedError", "RemoteDisconnected",
                         "ConnectionResetError", "BrokenPipeError"}, set(seen)


def test_minilm_concurrent_requests_share_batches_bit_for_bit(minilm):
    server, ref = minilm
    sentences = TEXTS + [LONG] + POOL[::6]
    expected = ref.encode(sentences)
    before = metric(server.request("GET", "/metrics")[2], "clenc_batch_requests_sum")
    batches0 = metric(server.request("GET", "/metrics")[2], "clenc_batch_requests_count")
    results, rng = {}, np.random.default_rng(7)
    picks = [rng.integers(0, len(sentences), 3) for _ in range(24)]

    def client(k):
        results[k] = server.post("/v1/embeddings",
                                 {"input": [sentences[i] for i in picks[k]]})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, (status, _, answer) in results.items():
        assert status == 200 and same_bits(embeddings_of(answer), expected[picks[k]])
    text = server.request("GET", "/metrics")[2]
    batches = metric(text, "clenc_batch_requests_count") - batches0
    shared = metric(text, "clenc_batch_requests_sum") - before
    assert shared > batches  # some batch held several requests' texts


def test_batches_keep_to_the_budget_and_split_requests():
    server = Server(EMBEDDER, "--max-batch", "4", "--max-batch-tokens", "64",
                    "--max-wait-ms", "20")
    ref = reference(EMBEDDER)
    try:
        expected = ref.encode(POOL)
        results = {}

        def client(k):
            results[k] = server.post("/v1/embeddings", {"input": POOL[k::4]})

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for k, (status, _, answer) in results.items():
            assert status == 200 and same_bits(embeddings_of(answer), expected[k::4])
        text = server.request("GET", "/metrics")[2]
    finally:
        assert server.stop() == 0
    batches = metric(text, "clenc_batch_sequences_count")
    # 48 texts of 12 a request, 4 at most a batch: every request was split
    assert batches >= 12
    assert metric(text, "clenc_batch_sequences_bucket", '{le="4"}') == batches
    assert metric(text, "clenc_batch_sequences_sum") == len(POOL)
    # padded tokens (sequences x longest) <= 64, so real tokens too
    assert metric(text, "clenc_batch_tokens_bucket", '{le="64"}') == batches


# ---------------------------------------------------------- several devices

TWO_DEVICES = {"POCL_DEVICES": "pthread pthread"}


@pytest.fixture(scope="module")
def minilm_pool():
    server = Server(MINILM, "--device", "0:0,0:1", env=TWO_DEVICES)
    yield server, reference(MINILM)
    assert server.stop() == 0


def test_pool_embeddings_equal_library_bit_for_bit(minilm_pool):
    server, ref = minilm_pool
    # 24 texts in one batch: the pool's sessions hold 16 (32 over two
    # devices), so the batch is two chunks
    texts = (TEXTS + [LONG] + POOL)[:24]
    status, _, answer = server.post("/v1/embeddings", {"input": texts})
    assert status == 200, answer
    assert same_bits(embeddings_of(answer), ref.encode(texts))
    status, _, answer = server.post("/embed", {"inputs": texts[:5]})
    assert status == 200
    assert same_bits(floats(answer), ref.encode(texts[:5], normalize_embeddings=True))


def test_pool_info_lists_every_device(minilm_pool):
    server, _ = minilm_pool
    status, _, info = server.request("GET", "/info")
    assert status == 200
    assert [d["device"] for d in info["devices"]] == ["0:0", "0:1"]
    assert all(d["name"] and d["device_type"] == "CPU" for d in info["devices"])
    assert info["device"] == info["devices"][0]["name"]
    assert "(0:0), " in server.log[0] and "(0:1) on http://" in server.log[0]


def test_pool_rerank_equals_score_pairs():
    server = Server(RERANKER, "--device", "0:0,0:1", env=TWO_DEVICES)
    ref = reference(RERANKER)
    try:
        query, passages = "what is a cat", TEXTS + POOL[:10]
        raw = ref.predict([(query, p) for p in passages], activation_fn=lambda x: x)
        status, _, answer = server.post("/rerank", {"query": query, "texts": passages,
                                                    "raw_scores": True})
        assert status == 200, answer
        assert len(answer) == len(passages)
        for r in answer:
            assert same_bits(floats([r["score"]]), raw[r["index"]:r["index"] + 1])
    finally:
        assert server.stop() == 0


def test_pool_with_a_device_that_is_not_there_fails_naming_it():
    import subprocess
    from serve_helpers import SERVE
    r = subprocess.run([SERVE, "--model", EMBEDDER, "--port", "0", "--device", "0:0,7:7"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **TWO_DEVICES))
    assert r.returncode == 1 and "entry '7:7'" in r.stderr, r.stderr
