"""_encoder.py — clenc.Encoder (embed texts or token ids, tokenize, rerank, predict) and clenc.devices() on libclenc.so, with sentence-transformers' and Hugging Face's names where they mean the same.

One Encoder holds one clenc context, one model and its sessions: one per
batch size asked for by the text calls (each of max_seq tokens, which sets
their truncation), and one that encode_ids grows to the largest ids batch
seen when no other session holds it. A session is one thread's at a time,
so each call takes the Encoder's lock; threads wanting to encode at once use
one Encoder each (the foreign calls release the GIL, so they run in
parallel).
"""
import ctypes
import sys
import threading

import numpy as np

from . import _ctypes as ct
from ._library import InvalidArgumentError, UnsupportedError, check, lib


def _text_array(texts):
    """UTF-8 bytes of each text, kept alive by the caller: (char* array, size_t array, keep)."""
    encoded = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                       f"text {i} is a {type(t).__name__}, not a str")
        encoded.append(t.encode("utf-8", "surrogatepass"))
    n = len(encoded)
    ptrs = (ctypes.c_char_p * max(n, 1))(*encoded)
    lengths = (ctypes.c_size_t * max(n, 1))(*[len(b) for b in encoded])
    return ptrs, lengths, encoded


def _id_array(name, values, shape=None):
    """values as a C-contiguous int32 array [batch, seq] (of `shape` if
    given), refusing what would change in the conversion."""
    a = np.asarray(values)
    if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind == "f"):
        raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                   f"{name} has dtype {a.dtype}: takes integers")
    if a.ndim != 2:
        raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                   f"{name} has shape {a.shape}: takes [batch, seq]")
    if shape is not None and a.shape != shape:
        raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                   f"{name} has shape {a.shape}, input_ids {shape}")
    if a.size and (a.dtype.itemsize > 4 or a.dtype == np.uint32):
        low, high = int(a.min()), int(a.max())
        if low < -2**31 or high >= 2**31:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                       f"{name} holds {low if low < -2**31 else high}, "
                                       "outside int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def _lengths(mask, shape):
    """clenc_encode's lengths from an attention mask [batch, seq] of right
    padding: int32 [batch], each row's count of ones."""
    m = np.asarray(mask)
    if m.dtype.kind not in "iub" and not (m.size == 0 and m.dtype.kind == "f"):
        raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                   f"attention_mask has dtype {m.dtype}: takes integers or bool")
    if m.shape != shape:
        raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                   f"attention_mask has shape {m.shape}, input_ids {shape}")
    lengths = (m != 0).sum(axis=1)
    prefix = np.arange(shape[1])[None, :] < lengths[:, None]
    # One comparison in the common case (some 30 us a call); the rows are
    # looked at only to name the first bad one.
    if not (np.array_equal(m, prefix) and lengths.all()):
        for row in range(shape[0]):
            values = m[row].tolist()
            what = ("has no tokens" if lengths[row] == 0 else
                    "holds a value other than 0 and 1" if set(values) - {0, 1} else
                    "is not ones then zeros (right padding)" if values != prefix[row].tolist()
                    else None)
            if what:
                raise InvalidArgumentError(
                    "CLENC_ERR_INVALID_ARG",
                    f"attention_mask row {row} {what}: {values[:16]}"
                    f"{' ...' if shape[1] > 16 else ''}; clenc reads each sequence's first "
                    "tokens, as many as its row's ones")
    return np.ascontiguousarray(lengths, dtype=np.int32)


def _device_dict(d):
    library = lib()
    return {"spec": f"{d.platform_index}:{d.device_index}",
            "platform_index": d.platform_index, "device_index": d.device_index,
            "name": d.name.decode(errors="replace"), "vendor": d.vendor.decode(errors="replace"),
            "platform": d.platform.decode(errors="replace"),
            "driver_version": d.driver_version.decode(errors="replace"),
            "opencl_c_version": d.opencl_c_version.decode(errors="replace"),
            "type": (library.clenc_device_type_name(d.type) or b"other").decode(),
            "compute_units": d.compute_units, "clock_mhz": d.clock_mhz,
            "global_mem_bytes": d.global_mem_bytes, "local_mem_bytes": d.local_mem_bytes,
            "max_alloc_bytes": d.max_alloc_bytes, "fp16": bool(d.fp16), "fp64": bool(d.fp64),
            "compiler_available": bool(d.compiler_available)}


def devices():
    """Every OpenCL device (clenc_device_list_sized), as dicts; "spec" is the
    "P:D" string Encoder(device=...) and CLENC_DEVICE take."""
    library = lib()
    count = ctypes.c_size_t(0)
    check(library.clenc_device_list_sized(None, ctypes.sizeof(ct.ClencDeviceInfo), 0,
                                          ctypes.byref(count)), "clenc_device_list_sized")
    infos = (ct.ClencDeviceInfo * max(count.value, 1))()
    check(library.clenc_device_list_sized(infos, ctypes.sizeof(ct.ClencDeviceInfo), len(infos),
                                          ctypes.byref(count)), "clenc_device_list_sized")
    return [_device_dict(infos[i]) for i in range(min(count.value, len(infos)))]


class Encoder:
    """A model on an OpenCL device.

    model: a model folder (or a .safetensors file with config.json beside
    it), as clenc_model_load takes. device: a device spec as CLENC_DEVICE
    takes ("gpu", "cpu", "P:D", part of the name); None: $CLENC_DEVICE, then
    the best device. dtype: the compute precision, "fp32", "fp16" or "int8"
    (None: $CLENC_PRECISION, else fp32); not sentence-transformers'
    `precision`, which quantises outputs. batch_size: sequences per device
    batch. max_seq: longest sequence in tokens (None: the model's limit);
    longer texts are truncated.
    """

    def __init__(self, model, device=None, dtype=None, batch_size=32, max_seq=None):
        self._lock = threading.Lock()
        self._ctx = self._model = None
        self._sessions = {}  # (max_batch, max_seq) -> session
        self._ids_shape = None  # the key of encode_ids' own session, if it has one
        library = lib()
        if dtype is not None and dtype not in ("fp32", "fp16", "int8"):
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                       f"dtype {dtype!r}: takes 'fp32', 'fp16' or 'int8'")
        if int(batch_size) < 1:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG", f"batch_size {batch_size} < 1")
        opt = ct.ClencOptions()
        check(library.clenc_options_init_sized(ctypes.byref(opt), ctypes.sizeof(opt)),
              "clenc_options_init_sized")
        self._device_spec = device.encode() if device else None  # kept alive with opt
        opt.device = self._device_spec
        ctx = ctypes.c_void_p()
        check(library.clenc_context_create_sized(ctypes.byref(opt), ctypes.sizeof(opt),
                                                 ctypes.byref(ctx)), "clenc_context_create_sized")
        self._ctx = ctx
        try:
            model_ptr = ctypes.c_void_p()
            check(library.clenc_model_load_as(
                ctx, str(model).encode(), ct.enum_value("precision", dtype or "default"),
                ctypes.byref(model_ptr)), "clenc_model_load_as")
            self._model = model_ptr
            raw = ct.ClencModelInfo()
            check(library.clenc_model_info_get_sized(model_ptr, ctypes.byref(raw),
                                                     ctypes.sizeof(raw)), "clenc_model_info_get_sized")
            dev = ct.ClencDeviceInfo()
            check(library.clenc_context_device_sized(ctx, ctypes.byref(dev), ctypes.sizeof(dev)),
                  "clenc_context_device_sized")
            self._raw_info = raw
            limit = raw.max_text_tokens if raw.has_tokenizer else raw.max_sequence
            self.max_seq = int(max_seq) if max_seq else int(limit)
            self.batch_size = int(batch_size)
            self.info = self._make_info(raw, dev)
            self._session(self.batch_size)  # fail now, not at the first encode
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ lifetime

    def _make_info(self, raw, dev):
        library = lib()
        labels = [(library.clenc_model_label(self._model, i) or b"").decode()
                  for i in range(raw.num_labels)]
        pooling = raw.pooling & ~ct.POOL_NORMALIZE
        return {"name": raw.name.decode(errors="replace"), "hidden": raw.hidden,
                "max_sequence": raw.max_sequence, "max_text_tokens": raw.max_text_tokens,
                "vocab_size": raw.vocab_size, "layers": raw.layers,
                "pooling": ct.enum_name("pooling", pooling),
                "normalize": bool(raw.pooling & ct.POOL_NORMALIZE),
                "gemm": ct.enum_name("gemm", raw.gemm), "variant": ct.enum_name("variant", raw.variant),
                "weight_bytes": raw.weight_bytes, "has_tokenizer": bool(raw.has_tokenizer),
                "dtype": ct.enum_name("precision", raw.precision),
                "fp16_compute": bool(raw.fp16_compute), "head": ct.enum_name("head", raw.head),
                "num_labels": raw.num_labels,
                "score_activation": ct.enum_name("score_activation", raw.score_activation),
                "has_pooler": bool(raw.has_pooler), "labels": labels,
                "device": _device_dict(dev), "library_version": library.clenc_version().decode()}

    def close(self):
        """Frees the sessions, the model and the context; idempotent. The
        Encoder is unusable afterwards."""
        if self._ctx is None and self._model is None and not self._sessions:
            return  # closed, or the library never loaded
        library = lib()
        with self._lock:
            for s in self._sessions.values():
                library.clenc_session_destroy(s)
            self._sessions = {}
            self._ids_shape = None
            if self._model is not None:
                library.clenc_model_destroy(self._model)
                self._model = None
            if self._ctx is not None:
                library.clenc_context_destroy(self._ctx)
                self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if getattr(self, "_lock", None) is not None:
            try:
                self.close()
            except Exception:  # interpreter shutdown: the module may be gone
                pass

    def _session(self, batch_size, max_seq=None):
        """The session of batch_size x max_seq (None: self.max_seq), made on
        first use (the caller holds the lock, or is __init__)."""
        if self._model is None:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG", "the Encoder is closed")
        key = (batch_size, max_seq or self.max_seq)
        session = self._sessions.get(key)
        if session is None:
            session = ctypes.c_void_p()
            check(lib().clenc_session_create(self._model, key[0], key[1],
                                             ctypes.byref(session)), "clenc_session_create")
            self._sessions[key] = session
        return session

    def _ids_session(self, batch, seq):
        """A session holding batch x seq tokens (the caller holds the lock).
        clenc_encode packs the real tokens, so a larger session does the
        same work: the smallest one that fits is reused. Else encode_ids'
        own session is replaced by one as large as both shapes, so that a
        run over several shapes settles on one session."""
        fits = [k for k in self._sessions if k[0] >= batch and k[1] >= seq]
        if fits:
            return self._session(*min(fits, key=lambda k: (k[0] * k[1], k)))
        shape = (batch, seq)
        old = self._ids_shape
        if old is not None:
            shape = (max(batch, old[0]), max(seq, old[1]))
        session = self._session(*shape)  # before the old one goes: a failure keeps it
        if old is not None:
            lib().clenc_session_destroy(self._sessions.pop(old))
        self._ids_shape = shape
        return session

    def get_sentence_embedding_dimension(self):
        return self.info["hidden"]

    # ------------------------------------------------------------- encode

    def _pooling(self, pooling, normalize_embeddings):
        if pooling is None and normalize_embeddings is None:
            return 0  # CLENC_POOL_DEFAULT: the model's, normalisation included
        if pooling is None:
            pooling = self.info["pooling"]
        if pooling not in ("mean", "cls", "pooler", "none"):
            raise InvalidArgumentError(
                "CLENC_ERR_INVALID_ARG",
                f"pooling {pooling!r}: takes 'mean', 'cls', 'pooler' or 'none'")
        if normalize_embeddings is None:
            normalize_embeddings = self.info["normalize"]
        value = ct.enum_value("pooling", pooling)
        return value | ct.POOL_NORMALIZE if normalize_embeddings else value

    def encode(self, sentences, normalize_embeddings=None, pooling=None,
               show_progress_bar=False, batch_size=None):
        """Embeddings of a str or a list of str: float32 [n, hidden] (a str:
        [hidden]). pooling: "mean", "cls", "pooler" or "none" (every token's
        state: [n, max_seq, hidden], rows past a text's tokens 0); None: the
        model's. normalize_embeddings: L2-normalise; None: the model's."""
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        batch = int(batch_size or self.batch_size)
        pool = self._pooling(pooling, normalize_embeddings)
        hidden = self.info["hidden"]
        shape = (len(texts), self.max_seq, hidden) if pool & 0xff == 3 else (len(texts), hidden)
        out = np.empty(shape, dtype=np.float32)
        # With a progress bar the texts go in chunks of a few batches; else
        # in one call, which groups all of them by length.
        step = batch * 4 if show_progress_bar else max(len(texts), 1)
        library = lib()
        with self._lock:
            session = self._session(batch)
            check(library.clenc_session_set_pooling(session, pool), "clenc_session_set_pooling")
            for start in range(0, len(texts), step):
                chunk = texts[start:start + step]
                ptrs, lengths, keep = _text_array(chunk)
                check(library.clenc_embed_text_n(session, ptrs, lengths, len(chunk),
                                                 out[start:].ctypes.data), "clenc_embed_text")
                del keep
                if show_progress_bar:
                    sys.stderr.write(f"\rclenc: {start + len(chunk)}/{len(texts)} texts")
                    sys.stderr.flush()
            if show_progress_bar and texts:
                sys.stderr.write("\n")
        return out[0] if single else out

    def encode_ids(self, input_ids, attention_mask=None, token_type_ids=None,
                   normalize_embeddings=None, pooling=None):
        """Embeddings of token ids, as a Hugging Face model takes them:
        input_ids, attention_mask and token_type_ids are integer arrays
        [batch, seq] (attention_mask None: every token is real;
        token_type_ids None: all 0). Each row of attention_mask must be ones
        then zeros (right padding), at least one 1: clenc_encode reads each
        sequence's first tokens, so its row sum is the length and the
        padding is never read. Returns float32 [batch, hidden] ([batch, seq,
        hidden] for pooling "none", rows past a sequence's length 0);
        pooling and normalize_embeddings as in encode. One clenc_encode
        call, in the smallest of the Encoder's sessions that holds batch x
        seq tokens, else in one of encode_ids' own, grown to hold this shape
        and those before."""
        ids = _id_array("input_ids", input_ids)
        batch, seq = ids.shape
        types = None if token_type_ids is None else _id_array("token_type_ids", token_type_ids,
                                                              ids.shape)
        lengths = None if attention_mask is None else _lengths(attention_mask, ids.shape)
        pool = self._pooling(pooling, normalize_embeddings)
        hidden = self.info["hidden"]
        out = np.empty((batch, seq, hidden) if pool & 0xff == 3 else (batch, hidden),
                       dtype=np.float32)
        if batch == 0:
            return out
        if seq == 0:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                       f"input_ids has shape {ids.shape}: no tokens")
        with self._lock:
            session = self._ids_session(batch, seq)
            check(lib().clenc_encode(session, ids.ctypes.data,
                                     None if types is None else types.ctypes.data,
                                     None if lengths is None else lengths.ctypes.data,
                                     batch, seq, pool, out.ctypes.data), "clenc_encode")
        return out

    def tokenize(self, texts, pairs=None):
        """Token ids as the model's tokenizer gives them, truncated to
        max_seq: {"input_ids": [[int]], "token_type_ids": [[int]]}, one list
        per text (a str, with pairs None or a str: flat lists). pairs: the
        second text of each pair, as many as texts."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            if len(pairs) != len(texts):
                raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                           f"{len(texts)} texts but {len(pairs)} pairs")
        if self._model is None:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG", "the Encoder is closed")
        cap = self.max_seq
        ids = (ctypes.c_int32 * cap)()
        types = (ctypes.c_int32 * cap)()
        n = ctypes.c_size_t()
        result = {"input_ids": [], "token_type_ids": []}
        for i, text in enumerate(texts):
            a = text.encode("utf-8", "surrogatepass")
            b = pairs[i].encode("utf-8", "surrogatepass") if pairs is not None else None
            check(lib().clenc_tokenize_n(self._model, a, len(a), b, len(b) if b is not None else 0,
                                         cap, ids, types, ctypes.byref(n)), "clenc_tokenize")
            result["input_ids"].append(list(ids[:n.value]))
            result["token_type_ids"].append(list(types[:n.value]))
        if single:
            return {k: v[0] for k, v in result.items()}
        return result

    # ------------------------------------------------------- cross-encoders

    def _scores(self, firsts, seconds, raw, batch):
        """[n, num_labels] float32 from clenc_score_pairs (seconds not None)
        or clenc_classify."""
        # A model without a head: the library's CLENC_ERR_UNSUPPORTED says so.
        out = np.empty((len(firsts), max(self.info["num_labels"], 1)), dtype=np.float32)
        if not firsts:
            return out
        flags = ct.SCORES_RAW if raw else 0
        library = lib()
        with self._lock:
            session = self._session(batch)
            qa, _, keep_a = _text_array(firsts)
            if seconds is None:
                check(library.clenc_classify(session, qa, len(firsts), flags, out.ctypes.data),
                      "clenc_classify")
            else:
                pb, _, keep_b = _text_array(seconds)
                check(library.clenc_score_pairs(session, qa, pb, len(firsts), flags,
                                                out.ctypes.data), "clenc_score_pairs")
        return out

    def predict(self, sentences, batch_size=None, show_progress_bar=False, activation_fn=None,
                apply_softmax=False, convert_to_numpy=True):
        """Scores of a cross-encoder or classifier: sentences is a list of
        (a, b) pairs (clenc_score_pairs), or a list of str (single texts,
        clenc_classify; sentence-transformers would read two strings as one
        pair), or one (a, b) tuple. Returns float32 [n] for one label, else
        [n, num_labels] (one pair: a scalar or [num_labels]). activation_fn
        None: the model's activation (clenc_model_info.score_activation); a
        callable: applied to the raw logits. apply_softmax: a softmax over
        the labels afterwards (several labels only)."""
        del show_progress_bar, convert_to_numpy  # one call; always numpy
        single = isinstance(sentences, tuple) and len(sentences) == 2 and all(
            isinstance(s, str) for s in sentences)
        items = [sentences] if single or isinstance(sentences, str) else list(sentences)
        single = single or isinstance(sentences, str)
        kinds = {isinstance(x, str) for x in items}
        if len(kinds) > 1:
            raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                       "sentences mixes pairs and single texts")
        batch = int(batch_size or self.batch_size)
        if items and kinds == {True}:
            scores = self._scores(items, None, activation_fn is not None, batch)
        else:
            for i, p in enumerate(items):
                if len(p) != 2 or not all(isinstance(s, str) for s in p):
                    raise InvalidArgumentError("CLENC_ERR_INVALID_ARG",
                                               f"sentences[{i}] is not a pair of str")
            scores = self._scores([p[0] for p in items], [p[1] for p in items],
                                  activation_fn is not None, batch)
        if activation_fn is not None:
            scores = np.asarray(activation_fn(scores), dtype=np.float32)
        if apply_softmax and scores.shape[-1] > 1:
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
        if scores.shape[-1] == 1:
            scores = scores[:, 0]
        return scores[0] if single else scores

    def rerank(self, query, documents, top_k=None, return_documents=False, batch_size=None,
               show_progress_bar=False, activation_fn=None, apply_softmax=False,
               convert_to_numpy=True):
        """The documents ranked by the reranker's score against the query:
        [{"corpus_id": i, "score": float}] best first (with "text" when
        return_documents), top_k of them (None: all)."""
        del convert_to_numpy
        documents = list(documents)
        if self.info["num_labels"] != 1:
            raise UnsupportedError("CLENC_ERR_UNSUPPORTED",
                                   f"rerank needs a model with one label; "
                                   f"'{self.info['name']}' has {self.info['num_labels']}")
        scores = self.predict([(query, d) for d in documents], batch_size=batch_size,
                              show_progress_bar=show_progress_bar, activation_fn=activation_fn,
                              apply_softmax=apply_softmax)
        order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))
        results = []
        for i in order[:top_k] if top_k is not None else order:
            entry = {"corpus_id": i, "score": float(scores[i])}
            if return_documents:
                entry["text"] = documents[i]
            results.append(entry)
        return results
