#!/usr/bin/env python3
"""llama.cpp's logits of SmolLM2 on its shipped Q4_1 file, for attend's quantized decoder.

llama.cpp (llama-cpp-python 0.3.36 built from source by bench/peers/run) evaluates the prompts of
tests/golden/smollm2/logits.jsonl (their ids, as transformers' tokenizer gave them) on
DATA_DIR/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, one thread, its KV cache in float32 (type_k
and type_v F32: only the weights' and activations' quantization differs from a float32 run),
each prompt from an empty cache. It computes as attend's `--weights stored` does: Q4_1 and
Q8_0 weights against activations quantized per block of 32 to int8 (q8_1, q8_0).

Writes --out (tests/golden/smollm2/llama_cpp_logits.jsonl): a header {"kind": "header",
"llama_cpp", "probe_ids"} (the probe ids of logits.jsonl), then for each prompt {"kind":
"prompt", "argmax", "top": [[id, logit] x 10], "probe": [logit of each probe id],
"log_sum_exp"} in logits.jsonl's order. Floats with 9 significant digits.
"""
import argparse
import json
import math
import os

import numpy as np
import llama_cpp
from llama_cpp import Llama


def number(x):
    return float(f"{float(x):.9g}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
    golden = os.path.join(root, "tests", "golden", "smollm2")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(data, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--out", default=os.path.join(golden, "llama_cpp_logits.jsonl"))
    args = parser.parse_args()
    with open(os.path.join(golden, "logits.jsonl"), encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    header, prompts = lines[0], [line for line in lines[1:] if line["kind"] == "prompt"]
    longest = max(len(p["ids"]) for p in prompts)
    llm = Llama(model_path=args.model, n_threads=1, n_threads_batch=1, n_ctx=longest + 8, n_batch=longest + 8,
                n_ubatch=longest + 8, type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, verbose=False)
    vocabulary = llm.n_vocab()
    with open(args.out + ".tmp", "w", encoding="utf-8") as out:
        out.write(json.dumps({"kind": "header", "llama_cpp": llama_cpp.__version__,
                              "model": os.path.basename(args.model), "probe_ids": header["probe_ids"]}) + "\n")
        for prompt in prompts:
            llm.reset()
            llm.eval(prompt["ids"])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocabulary,)).astype(np.float32).copy()
            top = np.argsort(-logits, kind="stable")[:10]
            out.write(json.dumps({
                "kind": "prompt", "argmax": int(top[0]), "top": [[int(i), number(logits[i])] for i in top],
                "probe": [number(logits[i]) for i in header["probe_ids"]],
                "log_sum_exp": number(np.logaddexp.reduce(logits.astype(np.float64)))}) + "\n")
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out}: {len(prompts)} prompts")


if __name__ == "__main__":
    main()
