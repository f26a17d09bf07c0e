"""Times llama.cpp (through llama-cpp-python) on a prompt file, the way generate_bench times
candle: prompt read from an empty cache, then a fixed number of greedy decoding steps.
Used only by scripts/bench-generation.sh, never by the product.

    python llama_cpp_bench.py MODEL.gguf PROMPT.txt THREADS RUNS NEW_TOKENS
Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
from llama_cpp import Llama


def main():
    model, prompt_file, threads, runs, new_tokens = sys.argv[1:6]
    threads, runs, new_tokens = int(threads), int(runs), int(new_tokens)
    prompt = open(prompt_file, encoding="utf-8").read()
    llm = Llama(model_path=model, n_ctx=4096, n_batch=2048, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    prefill, decode, first_token = [], [], []
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        first_token.append(time.perf_counter() - started)
        prefill.append(len(tokens) / first_token[-1])
        decode_started = time.perf_counter()
        for _ in range(new_tokens - 1):
            llm.eval([token])
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        decode.append((new_tokens - 1) / (time.perf_counter() - decode_started))
    print(json.dumps({
        "engine": "llama.cpp",
        "model": os.path.basename(model),
        "threads": threads,
        "prompt_tokens": len(tokens),
        "new_tokens": new_tokens,
        "runs": runs,
        "prefill_tokens_per_s": statistics.median(prefill),
        "decode_tokens_per_s": statistics.median(decode),
        "ttft_s": statistics.median(first_token),
    }))


if __name__ == "__main__":
    main()
