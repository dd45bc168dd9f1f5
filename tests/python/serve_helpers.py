"""serve_helpers.py — what the clenc-serve tests share: a server process on a free port, requests over a real socket (http.client), and the library's own results (the clenc package on build/libclenc.so) to check answers against."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "build", "libclenc.so")
# CLENC_SERVE: another build of the server (build/sanitize/bin/clenc-serve)
SERVE = os.environ.get("CLENC_SERVE", os.path.join(ROOT, "build", "bin", "clenc-serve"))
MINILM = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")
EMBEDDER = os.path.join(FIXTURES, "distilbert")
RERANKER = os.path.join(FIXTURES, "bert_rerank")
# The server and the reference must tile alike for bit-for-bit answers.
os.environ.setdefault("CLENC_TUNE", "off")
os.environ.setdefault("CLENC_LIBRARY", LIB)
sys.path.insert(0, os.path.join(ROOT, "python"))
import clenc  # noqa: E402


def reference(model):
    """The library's results: clenc_embed_text and clenc_score_pairs through
    the package, on a context of the test's own."""
    clenc.use_library(LIB)
    return clenc.Encoder(model)


class Server:
    """clenc-serve on a port the kernel picks, its stderr kept."""

    def __init__(self, model, *args, env=None):
        assert os.path.exists(SERVE), f"{SERVE} is missing: run `make` first"
        self.proc = subprocess.Popen(
            [SERVE, "--model", model, "--port", "0", *args],
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))
        self.log = []
        self.port = None
        deadline = time.time() + 120
        while self.port is None:
            line = self.proc.stderr.readline()
            if not line:
                raise AssertionError(f"clenc-serve exited {self.proc.wait()}: {''.join(self.log)}")
            self.log.append(line)
            m = re.search(r"on http://[^ ]*:(\d+)/$", line.strip())
            if m:
                self.port = int(m.group(1))
            assert time.time() < deadline, "clenc-serve did not start"
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers, answer): answer parsed from JSON where it is."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=headers or {})
            r = conn.getresponse()
            raw = r.read()
            kind = r.getheader("Content-Type", "")
            answer = json.loads(raw) if kind.startswith("application/json") else raw.decode()
            return r.status, dict(r.getheaders()), answer
        finally:
            conn.close()

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def vmhwm_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return {k: int(v.split()[0]) for k, v in
                    (line.split(":", 1) for line in f) if k in ("VmHWM", "VmRSS")}

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("clenc-serve did not exit after SIGTERM")


def floats(values):
    return np.array(values, dtype=np.float32)


def same_bits(a, b):
    a, b = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def error_of(answer):
    """The OpenAI-style error object, checked for its four fields."""
    err = answer["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    return err


def metric(text, name, labels=""):
    """A sample's value in a Prometheus text exposition (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return 0.0
