#!/usr/bin/env python3
"""SmolLM2-135M-Instruct's prefill and decode speed: attend beside transformers and llama.cpp, interleaved.

The same GGUF file (scripts/setup's), the same prompt of --prompt-tokens tokens (512: README.md
cut to that many tokens by transformers' tokenizer of the file), --new-tokens new tokens (128,
greedy, never stopping early). For each round and each thread count (1, 2) the contenders run
one after the other (attend, transformers, attend, transformers, ...), so that the machine's
drift reaches both alike; the table gives the median and the spread (min-max) of the rounds.

- attend: `attend generate --prompt-file P --max-tokens N --temperature 0 --ignore-eos`, a new
  process each time (ATTEND_NUM_THREADS), its own timings (stderr): prefill is the prompt's one
  forward pass (logits of the last position only), decode the new tokens' steps; peak memory
  is the process's maximum resident set (VmHWM, as attend reports it). Twice: on the file's
  weights as stored (`--weights stored`: Q4_1 and Q8_0 multiplied as they are, int8
  activations) and widened to float32 (`--weights float32`, transformers' arithmetic).
- transformers: AutoModelForCausalLM from the same GGUF (dequantized to float32), in this
  process (torch.set_num_threads), prefill = model(prompt) with its cache (logits of every
  position, as transformers computes them), decode = N single-token steps on its DynamicCache;
  peak memory is this process's maximum resident set after loading.

- llama.cpp (when llama-cpp-python is in the virtualenv, built from its PyPI source with
  AVX-512, VNNI, VBMI and BF16, without AMX: bench/peers/run): the same GGUF file on its own quantized weights (Q4_1, Q8_0), a
  new process each time, the prompt's ids evaluated at once (prefill), then 128 greedy
  single-token evaluations (decode); peak memory is that process's VmHWM (ru_maxrss would carry
  this process's over the fork).
  Also on llama.cpp's own Q4_0 requantization of the file (llama_model_quantize with
  allow_requantize, made once in a temporary folder), the format its AVX-512 kernels run fastest.

Decode is also given as weight bytes read per second (float32: 4 bytes x 134.5 M parameters a
token, the tied embedding read once as the output layer; quantized: the GGUF file's size), to
compare with the memory roof.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def attend_run(attend, model, prompt_file, new_tokens, threads, weights):
    env = dict(os.environ, ATTEND_NUM_THREADS=str(threads))
    done = subprocess.run([attend, "generate", "--model", model, "--weights", weights, "--prompt-file", prompt_file,
                           "--max-tokens", str(new_tokens), "--temperature", "0", "--ignore-eos", "--no-stream"],
                          env=env, capture_output=True, text=True, check=True)
    found = re.search(r"(\d+) prompt tokens in [0-9.]+ s \(([0-9.]+) tokens/s\), (\d+) new tokens in [0-9.]+ s "
                      r"\(([0-9.]+) tokens/s\)", done.stderr)
    peak = float(re.search(r"\(peak ([0-9.]+) MB\)", done.stderr).group(1))
    return float(found.group(2)), float(found.group(4)), peak, int(found.group(1))


LLAMA_CPP = """
import json, resource, sys, time
import numpy as np
from llama_cpp import Llama
model, threads, new_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = json.loads(sys.stdin.read())
llm = Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=len(ids) + new_tokens + 8,
            n_batch=len(ids), verbose=False)
vocabulary = llm.n_vocab()
start = time.perf_counter()
llm.eval(ids)
prefill = time.perf_counter() - start
start = time.perf_counter()
for _ in range(new_tokens):
    token = int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocabulary,))))  # the last position's
    llm.eval([token])
decode = time.perf_counter() - start
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps([len(ids) / prefill, new_tokens / decode, peak / 1024]))
"""


def llama_cpp_available():
    try:
        import llama_cpp  # noqa: F401
        return True
    except ImportError:
        return False


def llama_cpp_requantize(source, target, ftype_name):
    import ctypes
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype_name)
    params.allow_requantize = True
    params.nthread = 2
    status = llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params))
    if status != 0:
        raise RuntimeError(f"llama_model_quantize to {ftype_name} failed ({status})")


def llama_cpp_run(model, ids, new_tokens, threads):
    done = subprocess.run([sys.executable, "-c", LLAMA_CPP, model, str(threads), str(new_tokens)],
                          input=json.dumps(ids), capture_output=True, text=True, check=True)
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def transformers_run(model, ids, new_tokens):
    with torch.no_grad():
        start = time.perf_counter()
        out = model(torch.tensor([ids]), use_cache=True)
        prefill = time.perf_counter() - start
        cache, token = out.past_key_values, int(out.logits[0, -1].argmax())
        start = time.perf_counter()
        for _ in range(new_tokens):
            out = model(torch.tensor([[token]]), past_key_values=cache, use_cache=True)
            cache, token = out.past_key_values, int(out.logits[0, -1].argmax())
        decode = time.perf_counter() - start
    return len(ids) / prefill, new_tokens / decode, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attend", default=os.path.join(root, "build", "attend"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--json")
    parser.add_argument("--no-llama-cpp", action="store_true", help="leave llama.cpp out even when installed")
    args = parser.parse_args()
    directory, name = os.path.join(data, "smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf = os.path.join(directory, name)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        ids = tokenizer(f.read(), add_special_tokens=False)["input_ids"][:args.prompt_tokens]
    prompt = tokenizer.decode(ids)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    parameters = sum(p.numel() for p in model.parameters())
    results = {}
    with_llama_cpp = llama_cpp_available() and not args.no_llama_cpp
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as prompt_file, \
            tempfile.TemporaryDirectory() as scratch:
        prompt_file.write(prompt)
        prompt_file.flush()
        q4_0 = os.path.join(scratch, "SmolLM2-135M-Instruct.Q4_0.gguf")
        if with_llama_cpp:
            llama_cpp_requantize(gguf, q4_0, "LLAMA_FTYPE_MOSTLY_Q4_0")
        for round_index in range(args.rounds):
            for threads in [int(t) for t in args.threads.split(",")]:
                torch.set_num_threads(threads)
                quantized = attend_run(args.attend, gguf, prompt_file.name, args.new_tokens, threads, "stored")
                widened = attend_run(args.attend, gguf, prompt_file.name, args.new_tokens, threads, "float32")
                runs = [("attend Q4_1", quantized[:3]), ("attend float32", widened[:3]),
                        ("transformers float32", transformers_run(model, ids, args.new_tokens))]
                if with_llama_cpp:
                    runs.append(("llama.cpp Q4_1", llama_cpp_run(gguf, ids, args.new_tokens, threads)))
                    runs.append(("llama.cpp Q4_0", llama_cpp_run(q4_0, ids, args.new_tokens, threads)))
                for who, (prefill, decode, peak) in runs:
                    entry = results.setdefault(f"{who} {threads}", {"prefill": [], "decode": [], "peak_mb": []})
                    entry["prefill"].append(prefill)
                    entry["decode"].append(decode)
                    entry["peak_mb"].append(peak)
                if quantized[3] != len(ids):
                    print(f"note: attend's tokenizer gave {quantized[3]} prompt tokens, transformers' {len(ids)}")
            print(f"round {round_index + 1} of {args.rounds} done", flush=True)
        sizes = {"Q4_1": os.path.getsize(gguf), "Q4_0": os.path.getsize(q4_0) if with_llama_cpp else 0}
    print(f"\nSmolLM2-135M-Instruct, {len(ids)}-token prompt, {args.new_tokens} new tokens, "
          f"{args.rounds} rounds interleaved; median (min-max)\n")
    print("| contender, threads | prefill tokens/s | decode tokens/s | decode weight GB/s | peak MB |")
    print("|---|---|---|---|---|")
    for key, entry in results.items():
        # float32: 4 bytes a parameter; quantized: the file's tensors as stored
        per_token = parameters * 4 if "float32" in key else sizes["Q4_0" if "Q4_0" in key else "Q4_1"]
        gigabytes = [d * per_token / 1e9 for d in entry["decode"]]
        print(f"| {key} | {summary(entry['prefill'])} | {summary(entry['decode'])} | {summary(gigabytes)} | "
              f"{statistics.median(entry['peak_mb']):.0f} |")

    def ratio(a, b, threads):
        x, y = results[f"{a} {threads}"], results[f"{b} {threads}"]
        return (f"{a} / {b}: prefill {statistics.median(x['prefill']) / statistics.median(y['prefill']):.2f}x, "
                f"decode {statistics.median(x['decode']) / statistics.median(y['decode']):.2f}x")

    for threads in args.threads.split(","):
        pairs = [("attend float32", "transformers float32"), ("attend Q4_1", "transformers float32")]
        if with_llama_cpp:
            pairs += [("attend Q4_1", "llama.cpp Q4_1"), ("attend Q4_1", "llama.cpp Q4_0")]
        print(f"\n{threads} thread(s):")
        for a, b in pairs:
            print(f"  {ratio(a, b, threads)}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"parameters": parameters, "file_bytes": sizes, "results": results}, out, indent=1)


if __name__ == "__main__":
    main()
