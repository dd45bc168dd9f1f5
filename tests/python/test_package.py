"""test_package.py — the clenc Python package (python/clenc) against libclenc.so called through ctypes directly: embeddings, tokens, scores, errors, lifetime, devices, threads, and `pip install` into a virtual environment.

Expected values come from the C library through a plain ctypes reference
(class Ref: clenc_embed_text, clenc_encode, clenc_tokenize,
clenc_score_pairs, clenc_classify on sessions of its own), never from the
package. The
package is imported from python/ and loads build/libclenc.so
(CLENC_LIBRARY, and clenc.use_library so that an installed library cannot
shadow the build tree). Tuning is off, so results are deterministic.
"""
import ctypes
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "build", "libclenc.so")
MINILM = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
RERANK = os.path.join(ROOT, "tests", "fixtures", "models", "bert_rerank")
CLASSIFY = os.path.join(ROOT, "tests", "fixtures", "models", "roberta_classify")
HEADER = os.path.join(ROOT, "include", "clenc.h")
os.environ.setdefault("CLENC_TUNE", "off")
os.environ.setdefault("CLENC_LIBRARY", LIB)
sys.path.insert(0, os.path.join(ROOT, "python"))
import clenc  # noqa: E402
from clenc import _ctypes as ct  # noqa: E402

TEXTS = ["The cat sits outside", "A man is playing guitar.",
         "Ünïcödé text, with punctuation!?", "short",
         "a somewhat longer sentence that goes on for a while to make the batch uneven"]
POOL_MEAN, POOL_CLS, POOL_NORMALIZE = 1, 2, 0x100


def setup_module():
    assert os.path.exists(LIB), f"{LIB} is missing: run `make` first"
    assert os.path.isdir(MINILM), f"{MINILM} is missing: `make test` fetches it"
    clenc.use_library(LIB)


class Ref:
    """libclenc.so through ctypes, without the package's code: one context,
    one model, one session. dll: ctypes.CDLL, or ctypes.PyDLL (holds the GIL)."""

    def __init__(self, model, dll=ctypes.CDLL, batch=32, max_seq=0):
        P, I, U, Z = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_size_t
        self.lib = lib = dll(LIB)
        for name, res, args in [
                ("clenc_last_error", ctypes.c_char_p, []),
                ("clenc_context_create_sized", I, [P, Z, P]), ("clenc_context_destroy", None, [P]),
                ("clenc_model_load", I, [P, ctypes.c_char_p, P]),
                ("clenc_model_destroy", None, [P]), ("clenc_model_info_get_sized", I, [P, P, Z]),
                ("clenc_session_create", I, [P, U, U, P]), ("clenc_session_destroy", None, [P]),
                ("clenc_session_set_pooling", I, [P, I]),
                ("clenc_embed_text", I, [P, P, Z, P]),
                ("clenc_encode", I, [P, P, P, P, U, U, I, P]),
                ("clenc_tokenize", I, [P, ctypes.c_char_p, ctypes.c_char_p, Z, P, P, P]),
                ("clenc_score_pairs", I, [P, P, P, Z, U, P]),
                ("clenc_classify", I, [P, P, Z, U, P])]:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.ctx, self.model, self.session = P(), P(), P()
        self.ok(lib.clenc_context_create_sized(None, ctypes.sizeof(ct.ClencOptions),
                                               ctypes.byref(self.ctx)))
        self.status = lib.clenc_model_load(self.ctx, model.encode(), ctypes.byref(self.model))
        self.error = lib.clenc_last_error().decode()
        if self.status != 0:
            return
        self.info = ct.ClencModelInfo()
        self.ok(lib.clenc_model_info_get_sized(self.model, ctypes.byref(self.info),
                                               ctypes.sizeof(self.info)))
        self.max_seq = max_seq or self.info.max_text_tokens
        self.ok(lib.clenc_session_create(self.model, batch, self.max_seq,
                                         ctypes.byref(self.session)))

    def ok(self, status):
        assert status == 0, self.lib.clenc_last_error().decode()

    @staticmethod
    def strings(texts):
        return (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])

    def embed(self, texts, pooling=0):
        out = np.full((len(texts), self.info.hidden), np.nan, dtype=np.float32)
        self.ok(self.lib.clenc_session_set_pooling(self.session, pooling))
        self.ok(self.lib.clenc_embed_text(self.session, self.strings(texts), len(texts),
                                          out.ctypes.data))
        return out

    def encode(self, ids, lengths=None, type_ids=None, pooling=0):
        """clenc_encode on int32 [batch, seq] arrays (lengths [batch]; None: NULL)."""
        batch, seq = ids.shape
        out = np.full((batch, seq, self.info.hidden) if pooling & 0xff == 3 else
                      (batch, self.info.hidden), np.nan, dtype=np.float32)
        arrays = [np.ascontiguousarray(a, dtype=np.int32) if a is not None else None
                  for a in (ids, type_ids, lengths)]
        self.ok(self.lib.clenc_encode(self.session, *[a.ctypes.data if a is not None else None
                                                      for a in arrays],
                                      batch, seq, pooling, out.ctypes.data))
        return out

    def tokenize(self, text, pair=None):
        ids = (ctypes.c_int32 * 512)()
        types = (ctypes.c_int32 * 512)()
        n = ctypes.c_size_t()
        self.ok(self.lib.clenc_tokenize(self.model, text.encode(),
                                        pair.encode() if pair is not None else None, 512,
                                        ids, types, ctypes.byref(n)))
        return list(ids[:n.value]), list(types[:n.value])

    def scores(self, firsts, seconds=None, flags=0):
        out = np.full((len(firsts), self.info.num_labels), np.nan, dtype=np.float32)
        if seconds is None:
            self.ok(self.lib.clenc_classify(self.session, self.strings(firsts), len(firsts),
                                            flags, out.ctypes.data))
        else:
            self.ok(self.lib.clenc_score_pairs(self.session, self.strings(firsts),
                                               self.strings(seconds), len(firsts), flags,
                                               out.ctypes.data))
        return out

    def close(self):
        self.lib.clenc_session_destroy(self.session)
        self.lib.clenc_model_destroy(self.model)
        self.lib.clenc_context_destroy(self.ctx)


@pytest.fixture(scope="module")
def minilm():
    with clenc.Encoder(MINILM) as enc:
        yield enc


@pytest.fixture(scope="module")
def minilm_ref():
    ref = Ref(MINILM)
    yield ref
    ref.close()


# ------------------------------------------------------------- the enums

def test_enum_values_match_the_header():
    with open(HEADER, encoding="utf-8") as f:
        header = dict(re.findall(r"\b(CLENC_\w+)\s*=\s*(0x[0-9a-fA-F]+|-?\d+)", f.read()))
    with open(HEADER, encoding="utf-8") as f:
        header.update(re.findall(r"#define\s+(CLENC_\w+)\s+(\d+)u?\b", f.read()))
    ours = {c: v for kind in ct.ENUMS.values() for c, v in kind.values()}
    ours.update(ct.CONSTANTS)
    assert {c: int(header[c], 0) if c in header else None for c in ours} == ours


# ---------------------------------------------------------------- encode

def test_encode_equals_the_library(minilm, minilm_ref):
    got = minilm.encode(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
    # Same library, device and session shape: measured bit-identical.
    np.testing.assert_array_equal(got, minilm_ref.embed(TEXTS))


def test_encode_single_string_is_1d(minilm, minilm_ref):
    got = minilm.encode(TEXTS[1])
    assert got.shape == (384,)
    np.testing.assert_array_equal(got, minilm_ref.embed([TEXTS[1]])[0])


def test_encode_pooling_and_normalize(minilm, minilm_ref):
    assert minilm.info["pooling"] == "mean" and minilm.info["normalize"] is True
    raw_mean = minilm.encode(TEXTS, normalize_embeddings=False)
    np.testing.assert_array_equal(raw_mean, minilm_ref.embed(TEXTS, POOL_MEAN))
    assert np.all(np.abs(np.linalg.norm(raw_mean, axis=1) - 1) > 1e-2)
    cls = minilm.encode(TEXTS, pooling="cls", normalize_embeddings=False)
    np.testing.assert_array_equal(cls, minilm_ref.embed(TEXTS, POOL_CLS))
    cls_n = minilm.encode(TEXTS, pooling="cls", normalize_embeddings=True)
    np.testing.assert_array_equal(cls_n, minilm_ref.embed(TEXTS, POOL_CLS | POOL_NORMALIZE))
    np.testing.assert_allclose(np.linalg.norm(cls_n, axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(minilm.encode(TEXTS, pooling="mean"), minilm.encode(TEXTS))
    with pytest.raises(clenc.InvalidArgumentError, match="pooling 'max'"):
        minilm.encode(TEXTS, pooling="max")


def test_encode_batch_size_and_progress_bar_do_not_change_results(minilm, minilm_ref, capsys):
    want = minilm_ref.embed(TEXTS)
    np.testing.assert_array_equal(minilm.encode(TEXTS, batch_size=2), want)
    np.testing.assert_array_equal(minilm.encode(TEXTS, batch_size=1, show_progress_bar=True),
                                  want)
    assert f"{len(TEXTS)}/{len(TEXTS)} texts" in capsys.readouterr().err
    assert minilm.encode([]).shape == (0, 384)


def test_tokenize_equals_the_library(minilm, minilm_ref):
    got = minilm.tokenize(TEXTS)
    want = [minilm_ref.tokenize(t) for t in TEXTS]
    assert got["input_ids"] == [w[0] for w in want]
    assert got["token_type_ids"] == [w[1] for w in want]
    pair = minilm.tokenize(TEXTS[0], pairs=TEXTS[1])
    assert (pair["input_ids"], pair["token_type_ids"]) == minilm_ref.tokenize(TEXTS[0], TEXTS[1])
    assert 1 in pair["token_type_ids"]


# ------------------------------------------------------------- token ids

def random_batch(lengths, seq=None, seed=7):
    """Ids 1000..29999 between [CLS] and [SEP], random token types, right
    padding of 0: (ids, attention_mask, token_type_ids), int64 as
    Hugging Face's tokenizers give them."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    seq = seq or int(lengths.max())
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    ids = rng.integers(1000, 30000, size=(len(lengths), seq)) * mask
    ids[:, 0], ids[np.arange(len(lengths)), lengths - 1] = 101, 102
    types = rng.integers(0, 2, size=ids.shape) * mask
    return ids, mask, types


def test_encode_ids_equals_the_library(minilm, minilm_ref):
    lengths = [9, 31, 2, 17, 31, 1]
    ids, mask, types = random_batch(lengths)
    assert ids.dtype == np.int64  # converted to int32 by the package
    got = minilm.encode_ids(ids, attention_mask=mask, token_type_ids=types)
    assert got.dtype == np.float32 and got.shape == (len(lengths), 384)
    # The same library call on a session of the reference's own: bit for bit.
    np.testing.assert_array_equal(got, minilm_ref.encode(ids, lengths, types))
    np.testing.assert_array_equal(minilm.encode_ids(ids, mask),
                                  minilm_ref.encode(ids, lengths))
    full = ids[:, :2] + 0  # no mask: every token is real
    np.testing.assert_array_equal(minilm.encode_ids(full), minilm_ref.encode(full))
    np.testing.assert_array_equal(
        minilm.encode_ids(ids, mask, pooling="cls", normalize_embeddings=False),
        minilm_ref.encode(ids, lengths, pooling=POOL_CLS))
    np.testing.assert_array_equal(
        minilm.encode_ids(ids, mask.astype(bool), normalize_embeddings=False),
        minilm_ref.encode(ids, lengths, pooling=POOL_MEAN))
    tokens = minilm.encode_ids(ids, mask, types, pooling="none", normalize_embeddings=False)
    assert tokens.shape == (len(lengths), ids.shape[1], 384)
    np.testing.assert_array_equal(tokens, minilm_ref.encode(ids, lengths, types, pooling=3))
    np.testing.assert_array_equal(minilm.encode_ids(ids, mask, types, pooling="none"),
                                  minilm_ref.encode(ids, lengths, types,
                                                    pooling=3 | POOL_NORMALIZE))
    assert not tokens[2, 2:].any() and tokens[2, :2].all()


def test_encode_ids_equals_encode_through_tokenize(minilm, minilm_ref):
    """The texts' ids (the library's tokenizer through the reference),
    padded on the right, give what the reference's clenc_embed_text gives."""
    rows = [minilm_ref.tokenize(t)[0] for t in TEXTS]
    seq = max(map(len, rows))
    ids = np.array([r + [0] * (seq - len(r)) for r in rows])
    mask = np.array([[1] * len(r) + [0] * (seq - len(r)) for r in rows])
    assert minilm.tokenize(TEXTS)["input_ids"] == rows
    # Packed tokens, each row's result independent of the batch: measured
    # bit-identical although clenc_embed_text batches the texts by length.
    np.testing.assert_array_equal(minilm.encode_ids(ids, mask), minilm_ref.embed(TEXTS))
    np.testing.assert_array_equal(minilm.encode_ids(ids[1:2, :len(rows[1])]),
                                  minilm_ref.embed(TEXTS[1:2]))


def test_encode_ids_refuses_a_mask_that_is_not_right_padding(minilm):
    ids, mask, _ = random_batch([5, 3, 4], seq=6)
    for row, bad, what in [(1, [0, 0, 0, 1, 1, 1], "not ones then zeros"),  # left padding
                           (2, [1, 1, 0, 1, 0, 0], "not ones then zeros"),
                           (0, [0, 0, 0, 0, 0, 0], "has no tokens"),
                           (1, [1, 2, 1, 0, 0, 0], "other than 0 and 1")]:
        wrong = mask.copy()
        wrong[row] = bad
        with pytest.raises(clenc.InvalidArgumentError,
                           match=f"attention_mask row {row} .*{what}") as err:
            minilm.encode_ids(ids, wrong)
        assert isinstance(err.value, ValueError)
    minilm.encode_ids(ids, mask)  # the same ids with their own mask pass


def test_encode_ids_checks_its_arguments(minilm):
    ids, mask, types = random_batch([4, 2])
    for kwargs, match in [
            ({"input_ids": ids.astype(np.float32)}, "input_ids has dtype float32"),
            ({"input_ids": ids.astype(bool)}, "input_ids has dtype bool"),
            ({"input_ids": ids[0]}, r"input_ids has shape \(4,\)"),
            ({"input_ids": ids, "attention_mask": mask[:, :3]},
             r"attention_mask has shape \(2, 3\), input_ids \(2, 4\)"),
            ({"input_ids": ids, "attention_mask": mask.astype(np.float64)},
             "attention_mask has dtype float64"),
            ({"input_ids": ids, "token_type_ids": types[:1]},
             r"token_type_ids has shape \(1, 4\), input_ids \(2, 4\)"),
            ({"input_ids": ids + 2**31}, r"input_ids holds 2147\d+, outside int32"),
            ({"input_ids": ids[:, :0]}, r"input_ids has shape \(2, 0\): no tokens"),
            ({"input_ids": ids, "pooling": "max"}, "pooling 'max'")]:
        with pytest.raises(clenc.InvalidArgumentError, match=match):
            minilm.encode_ids(**kwargs)
    # What the library refuses comes back as its error.
    wrong = ids.copy()
    wrong[1, 1] = 30522
    with pytest.raises(clenc.InvalidArgumentError, match=r"token id 30522 at \[1\]\[1\]"):
        minilm.encode_ids(wrong, mask)
    assert minilm.encode_ids(ids[:0]).shape == (0, 384)
    assert minilm.encode_ids([[101, 7592, 102]]).shape == (1, 384)  # lists too


def test_encode_ids_reuses_a_session_that_fits_and_grows_one_that_does_not():
    ref = Ref(MINILM, batch=40, max_seq=512)
    try:
        with clenc.Encoder(MINILM, batch_size=4, max_seq=64) as enc:
            assert list(enc._sessions) == [(4, 64)]
            for lengths, seq, sessions in [
                    ([3, 64, 1], 64, [(4, 64)]),          # fits the Encoder's session
                    ([5] * 6, 8, [(4, 64), (6, 8)]),       # grows: one of its own
                    ([2, 7], 8, [(4, 64), (6, 8)]),        # fits the smallest: the first
                    ([20, 512], 512, [(4, 64), (6, 512)]),  # grown over both shapes
                    ([1] * 40, 3, [(4, 64), (40, 512)])]:
                ids, mask, types = random_batch(lengths, seq=seq)
                got = enc.encode_ids(ids, mask, types)
                assert sorted(enc._sessions) == sorted(set(sessions) | {(4, 64)}), lengths
                np.testing.assert_array_equal(got, ref.encode(ids, np.array(lengths), types))
            # The text calls keep their own session, and its truncation.
            assert len(enc.tokenize("word " * 100)["input_ids"]) == 64
            np.testing.assert_array_equal(enc.encode(TEXTS)[:1], enc.encode(TEXTS[:1]))
        with pytest.raises(clenc.InvalidArgumentError, match="closed"):
            enc.encode_ids(ids)
    finally:
        ref.close()


class TimedEncode:
    """The loaded library with its clenc_encode timed: (thread, start, end)
    of each call into `intervals`, the foreign call alone (encode_ids'
    numpy checks may give up the GIL, which would let the threads'
    intervals overlap whatever the call does)."""

    def __init__(self, library):
        self.library, self.intervals = library, []

    def __getattr__(self, name):
        return getattr(self.library, name)

    def clenc_encode(self, *args):
        t0 = time.perf_counter()
        status = self.library.clenc_encode(*args)
        self.intervals.append((threading.get_ident(), t0, time.perf_counter()))
        return status


def test_two_encoders_encode_ids_in_two_threads_overlap_in_time(monkeypatch):
    ids, mask, types = random_batch([64] * 4)
    with clenc.Encoder(MINILM, batch_size=4) as a, clenc.Encoder(MINILM, batch_size=4) as b:
        a.encode_ids(ids, mask), b.encode_ids(ids, mask)  # warm
        timed = TimedEncode(clenc._library.lib())
        monkeypatch.setattr(clenc._library, "_lib", timed)
        call_intervals([lambda: a.encode_ids(ids, mask, types),
                        lambda: b.encode_ids(ids, mask, types)])
    assert len(timed.intervals) == 6
    shortest = min(t1 - t0 for _, t0, t1 in timed.intervals)
    # Measured: the calls overlap by more than the shortest; through
    # ctypes.PyDLL (the GIL held) they never do.
    assert longest_overlap(timed.intervals) > 0.25 * shortest, timed.intervals


# --------------------------------------------------------- cross-encoders

QUERY = "what does the cat do"
DOCS = ["the cat sits outside", "stock markets fell today", "a cat sleeps on the mat",
        "cats", "nothing to do with it at all, a long passage about something else"]


def test_predict_and_rerank_equal_the_library():
    ref = Ref(RERANK)
    try:
        want = ref.scores([QUERY] * len(DOCS), DOCS)[:, 0]
        want_raw = ref.scores([QUERY] * len(DOCS), DOCS, flags=1)[:, 0]
    finally:
        ref.close()
    with clenc.Encoder(RERANK) as enc:
        assert enc.info["head"] == "bert" and enc.info["num_labels"] == 1
        assert enc.info["score_activation"] == "sigmoid"
        got = enc.predict([(QUERY, d) for d in DOCS])
        assert got.dtype == np.float32 and got.shape == (len(DOCS),)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(enc.predict([(QUERY, d) for d in DOCS],
                                                  activation_fn=lambda x: x), want_raw)
        assert float(enc.predict((QUERY, DOCS[2]))) == want[2]
        ranked = enc.rerank(QUERY, DOCS)
        order = sorted(range(len(DOCS)), key=lambda i: -want[i])
        assert [r["corpus_id"] for r in ranked] == order
        assert [r["score"] for r in ranked] == [float(want[i]) for i in order]
        top = enc.rerank(QUERY, DOCS, top_k=2, return_documents=True)
        assert top == [{"corpus_id": i, "score": float(want[i]), "text": DOCS[i]}
                       for i in order[:2]]


def test_predict_on_a_classifier_equals_the_library():
    ref = Ref(CLASSIFY)
    try:
        want = ref.scores(DOCS)
        want_raw = ref.scores(DOCS, flags=1)
    finally:
        ref.close()
    with clenc.Encoder(CLASSIFY) as enc:
        assert enc.info["labels"] == ["negative", "neutral", "positive"]
        got = enc.predict(DOCS)
        assert got.shape == (len(DOCS), 3)
        np.testing.assert_array_equal(got, want)
        raw = enc.predict(DOCS, activation_fn=lambda x: x)
        np.testing.assert_array_equal(raw, want_raw)
        soft = enc.predict(DOCS, activation_fn=lambda x: x, apply_softmax=True)
        e = np.exp(want_raw.astype(np.float64))
        np.testing.assert_allclose(soft, e / e.sum(1, keepdims=True), rtol=1e-6)
        with pytest.raises(clenc.UnsupportedError, match="one label"):
            enc.rerank(QUERY, DOCS)


def test_scores_on_an_embedder_are_unsupported(minilm):
    with pytest.raises(clenc.UnsupportedError) as err:
        minilm.predict([(QUERY, DOCS[0])])
    assert err.value.status == "CLENC_ERR_UNSUPPORTED" and err.value.message


# ----------------------------------------------------------------- errors

def test_missing_folder_is_an_io_error_naming_it():
    missing = os.path.join(ROOT, "build", "no-such-model")
    with pytest.raises(clenc.IOError) as err:
        clenc.Encoder(missing)
    assert isinstance(err.value, clenc.Error) and isinstance(err.value, OSError)
    assert err.value.status == "CLENC_ERR_IO"
    assert missing in err.value.message and missing in str(err.value)
    ref = Ref(missing)  # the library's own message for the same call
    assert err.value.message == ref.error
    ref.lib.clenc_context_destroy(ref.ctx)


def test_malformed_model_is_a_model_format_error(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(RERANK, folder)
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(clenc.ModelFormatError) as err:
        clenc.Encoder(str(folder))
    assert err.value.status == "CLENC_ERR_MODEL_FORMAT" and err.value.message


def test_bad_device_and_dtype():
    with pytest.raises(clenc.NoDeviceError) as err:
        clenc.Encoder(MINILM, device="no-such-device-xyz")
    assert err.value.status == "CLENC_ERR_NO_DEVICE" and "no-such-device-xyz" in err.value.message
    with pytest.raises(clenc.InvalidArgumentError, match="dtype 'fp64'"):
        clenc.Encoder(MINILM, dtype="fp64")
    with pytest.raises(clenc.InvalidArgumentError, match="not a str"):
        clenc.Encoder(RERANK).encode([b"bytes"])


def test_every_status_has_its_subclass():
    lib = ctypes.CDLL(LIB)
    lib.clenc_status_name.restype = ctypes.c_char_p
    names = [lib.clenc_status_name(code).decode() for code in range(-1, -10, -1)]
    assert sorted(names) == sorted(clenc._library.ERRORS)
    for name, cls in clenc._library.ERRORS.items():
        assert cls is not clenc.Error and issubclass(cls, clenc.Error)
        e = clenc._library.error(name, "msg")
        assert type(e) is cls and e.status == name and e.message == "msg"


# ------------------------------------------------------ lifetime, devices

def test_close_and_context_manager():
    with clenc.Encoder(RERANK, dtype="fp32", batch_size=4, max_seq=16) as enc:
        assert enc.info["dtype"] == "fp32" and enc.max_seq == 16
        assert len(enc.tokenize("word " * 40)["input_ids"]) == 16
        enc.predict([(QUERY, DOCS[0])])
    assert enc._model is None and enc._ctx is None
    with pytest.raises(clenc.InvalidArgumentError, match="closed"):
        enc.predict([(QUERY, DOCS[0])])
    enc.close()  # idempotent


def test_devices_equal_the_device_list():
    found = clenc.devices()
    assert found, "no OpenCL device"
    lib = ctypes.CDLL(LIB)
    infos = (ct.ClencDeviceInfo * 64)()
    count = ctypes.c_size_t()
    assert lib.clenc_device_list_sized(infos, ctypes.sizeof(ct.ClencDeviceInfo), 64,
                                       ctypes.byref(count)) == 0
    assert [(d["platform_index"], d["device_index"], d["name"]) for d in found] == \
        [(i.platform_index, i.device_index, i.name.decode()) for i in infos[:count.value]]
    for d in found:
        assert d["spec"] == f"{d['platform_index']}:{d['device_index']}"
        assert d["type"] in ("CPU", "GPU", "accelerator", "other")
    with clenc.Encoder(RERANK, device=found[0]["spec"]) as enc:
        assert enc.info["device"]["name"] == found[0]["name"]


# ---------------------------------------------------------------- threads

def call_intervals(calls, rounds=3):
    """Runs each of `calls` in its own thread `rounds` times with Python's
    thread switching stretched to 100 s: a thread then gives up the GIL only
    where it blocks, so two threads' calls can overlap in time only if the
    foreign call releases the GIL. [(thread, start, end)]."""
    intervals, barrier = [], threading.Barrier(len(calls))

    def run(k, call):
        barrier.wait()
        for _ in range(rounds):
            t0 = time.perf_counter()
            call()
            intervals.append((k, t0, time.perf_counter()))

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        threads = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return intervals


def longest_overlap(intervals):
    best = 0.0
    for k, a0, a1 in intervals:
        for j, b0, b1 in intervals:
            if k < j:
                best = max(best, min(a1, b1) - max(a0, b0))
    return best


def test_two_encoders_in_two_threads_overlap_in_time():
    texts = TEXTS * 2
    with clenc.Encoder(MINILM, batch_size=4) as a, clenc.Encoder(MINILM, batch_size=4) as b:
        a.encode(texts), b.encode(texts)  # warm: kernels built, caches hot
        intervals = call_intervals([lambda: a.encode(texts), lambda: b.encode(texts)])
    shortest = min(t1 - t0 for _, t0, t1 in intervals)
    # Nothing in encode() but the foreign call gives up the GIL (its output
    # is np.empty, which runs no loop), so any overlap is the calls'. Asked:
    # a quarter of the shortest call.
    assert longest_overlap(intervals) > 0.25 * shortest, intervals


def test_the_overlap_check_fails_when_calls_hold_the_gil():
    """The check itself can fail: the same library through ctypes.PyDLL,
    whose calls keep the GIL, never overlaps."""
    refs = [Ref(MINILM, dll=ctypes.PyDLL, batch=4) for _ in range(2)]
    texts = Ref.strings(TEXTS * 2)
    # Outputs made beforehand: numpy releases the GIL in its fill loops.
    outs = [np.empty((len(TEXTS) * 2, 384), dtype=np.float32) for _ in refs]
    try:
        intervals = call_intervals([
            lambda r=r, o=o: r.lib.clenc_embed_text(r.session, texts, len(TEXTS) * 2,
                                                    o.ctypes.data) for r, o in zip(refs, outs)])
        for o, r in zip(outs, refs):
            np.testing.assert_array_equal(o, r.embed(TEXTS * 2))  # the calls did encode
    finally:
        for r in refs:
            r.close()
    assert longest_overlap(intervals) <= 0, intervals


# -------------------------------------------------------------- packaging

def test_pip_install_into_a_venv(tmp_path):
    """`pip install --no-build-isolation` of a copy of python/ (pip builds
    in the source folder) into a venv on Debian's packages, offline; the
    installed package imports from elsewhere and finds the library."""
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    py = str(venv / "bin" / "python")
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               CLENC_LIBRARY=LIB, PYTHONDONTWRITEBYTECODE="1")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation", str(src)],
                   check=True, env=env, cwd=tmp_path)
    out = subprocess.run([py, "-c", "import clenc; print(clenc.__file__); "
                          "print(clenc.devices()[0]['spec']); print(clenc.library_path())"],
                         check=True, env=env, cwd=tmp_path, capture_output=True, text=True)
    where, spec, lib = out.stdout.split("\n")[:3]
    assert where.startswith(str(venv)) and re.fullmatch(r"\d+:\d+", spec)
    assert lib in ("libclenc.so.0", LIB) or lib.startswith("/")
