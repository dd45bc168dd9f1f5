#!/usr/bin/env python3
"""bench_serve.py — `make bench-serve`: clenc-serve's throughput at saturation against clenc_embed_text offline on the same texts, and its latency at a fixed request rate. Standard library and the clenc package (Debian's numpy) only.

Throughput: CLIENTS threads send requests of PER_REQUEST texts
(encoding_format base64, as OpenAI's client asks) over keep-alive
connections until every text of the set has been embedded; offline is one
clenc_embed_text call over the same texts through the package. Runs
alternate, and each figure is the median of --runs. Latency: single-text
requests sent on a fixed schedule (open loop: a late answer does not delay
the next request), timed from when each was due.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("the of and a to in is you that it he was for on are as with his they at be this "
         "have from or one had by word but not what all were we when your can said there use "
         "an each which she do how their if will up other about out many then them these so "
         "some her would make like him into time has look two more write go see number no way "
         "could people my than first water been call who oil its now find long down day did get "
         "come made may part").split()


def texts(n):
    """n sentences of 4 to 60 words, a fixed mix of lengths."""
    out = []
    for i in range(n):
        words = 4 + (i * 37) % 57
        out.append(" ".join(WORDS[(i * 11 + k * 7) % len(WORDS)] for k in range(words)))
    return out


class Server:
    def __init__(self, serve, model, args):
        self.proc = subprocess.Popen([serve, "--model", model, "--port", "0", *args],
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            m = re.search(r"on http://[^ ]*:(\d+)/$", line.strip())
            if m:
                self.port = int(m.group(1))
                self.line = line.strip()
                break
        else:
            sys.exit(f"clenc-serve did not start (status {self.proc.wait()})")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(60)


def embed(conn, batch):
    body = json.dumps({"input": batch, "encoding_format": "base64"}).encode()
    conn.request("POST", "/v1/embeddings", body=body,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"status {r.status}: {data[:200]!r}")
    return data


def saturate(server, corpus, clients, per_request):
    """Texts a second with `clients` concurrent clients."""
    chunks = [corpus[i:i + per_request] for i in range(0, len(corpus), per_request)]
    lock, errors = threading.Lock(), []

    def client():
        conn = server.connect()
        while True:
            with lock:
                if not chunks:
                    break
                batch = chunks.pop()
            try:
                embed(conn, batch)
            except Exception as e:  # noqa: BLE001 (reported, then the run fails)
                errors.append(e)
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        sys.exit(f"bench-serve: {errors[0]}")
    return len(corpus) / seconds


def latency(server, corpus, rate, seconds):
    """p50 and p99 (ms) of single-text requests due every 1/rate s."""
    n = int(rate * seconds)
    due0 = time.perf_counter() + 0.2
    results, lock = [], threading.Lock()
    next_index = [0]

    def worker():
        conn = server.connect()
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= n:
                break
            due = due0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            embed(conn, [corpus[i % len(corpus)]])
            with lock:
                results.append((time.perf_counter() - due) * 1e3)
        conn.close()

    # enough workers that none is busy when its request falls due
    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.sort()
    return results[len(results) // 2], results[min(len(results) - 1, int(len(results) * 0.99))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", default=os.path.join(ROOT, "build", "bin", "clenc-serve"))
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libclenc.so"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-request", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="requests/s for the latency run (default: a quarter of the "
                         "saturated rate of single-text requests)")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--serve-args", default="", help="more clenc-serve options")
    a = ap.parse_args()

    os.environ["CLENC_LIBRARY"] = a.lib
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import clenc
    clenc.use_library(a.lib)
    corpus = texts(a.texts)
    encoder = clenc.Encoder(a.model)
    server = Server(a.serve, a.model, a.serve_args.split())
    try:
        conn = server.connect()
        conn.request("GET", "/info")
        info = json.loads(conn.getresponse().read())
        conn.close()
        # warm both: kernels, tuning, the session's arena
        encoder.encode(corpus[:64])
        saturate(server, corpus[:64], a.clients, a.per_request)
        offline, served = [], []
        for _ in range(a.runs):
            start = time.perf_counter()
            encoder.encode(corpus)
            offline.append(len(corpus) / (time.perf_counter() - start))
            served.append(saturate(server, corpus, a.clients, a.per_request))
        off, srv = statistics.median(offline), statistics.median(served)
        single = saturate(server, corpus[:128], a.clients, 1)
        rate = a.rate or max(1.0, round(single / 4))
        p50, p99 = latency(server, corpus, rate, a.seconds)
    finally:
        status = server.stop()
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    cpu = (f"{fields.get('model name', '?')}, family {fields.get('cpu family', '?')} "
           f"model {fields.get('model', '?')}")
    print(f"model {info['model']}, {info['device']} ({cpu}, {os.cpu_count()} CPUs), "
          f"{info['precision']}, max_batch {info['limits']['max_batch']}, "
          f"max_batch_tokens {info['limits']['max_batch_tokens']}, "
          f"max_wait_ms {info['limits']['max_wait_ms']}")
    print(f"{len(corpus)} texts of 4..60 words; medians of {a.runs} interleaved runs")
    print(f"offline clenc_embed_text: {off:8.1f} texts/s  (runs: "
          f"{', '.join(f'{x:.1f}' for x in offline)})")
    print(f"clenc-serve, {a.clients} clients x {a.per_request} texts a request: "
          f"{srv:8.1f} texts/s  (runs: {', '.join(f'{x:.1f}' for x in served)})")
    print(f"ratio served / offline: {srv / off:.2f}x (target >= 0.9x)")
    print(f"single-text requests at saturation: {single:.1f}/s")
    print(f"latency at {rate:g} single-text requests/s for {a.seconds:g} s: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
