#!/usr/bin/env python3
"""Checks the include graph of include/attend and src against the declared order of layers.

A file in layer L may include headers of L and of layers below it, never above. The order is the
one README.md states; `known` lists today's exceptions, file by file (issue: "One step of
architecture"), so that no new one can appear and each fixed one must leave the list.
Exit status 0 when the graph matches, 1 with every offending include otherwise.
"""
import os
import re
import sys

# Lowest first. kernels/ lives in src/ only; tools/ (the CLI) sits on top of everything.
ORDER = ["core", "kernels", "autograd", "ops", "attention", "nn", "io", "text", "data", "models", "train", "viz"]

# (including file, included layer): the exceptions still to be removed.
KNOWN = {
    ("src/core/tensor.cc", "autograd"),  # Tensor::backward runs the tape
    ("include/attend/attention/positional.h", "nn"),  # the attend::nn modules of attention/
    ("include/attend/attention/multi_head_attention.h", "nn"),
    ("include/attend/attention/scored_attention.h", "nn"),
    ("include/attend/attention/attention_pooling.h", "nn"),
    ("include/attend/attention/score_functions.h", "nn"),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of_include(include, own_layer):
    parts = include.split("/")
    if parts[0] == "attend" and len(parts) > 2:
        return parts[1]
    if len(parts) > 1 and parts[0] in ORDER:  # src-relative, e.g. "kernels/flash_attention.h"
        return parts[0]
    return own_layer  # a header beside the file


def main(root):
    rank = {name: i for i, name in enumerate(ORDER)}
    problems, seen_known = [], set()
    for top in ("include/attend", "src"):
        for directory, _, files in os.walk(os.path.join(root, top)):
            relative = os.path.relpath(directory, os.path.join(root, top))
            own = relative.split(os.sep)[0]
            if own == ".":
                continue  # include/attend/attend.h: the umbrella header includes every layer
            if own not in rank:
                problems.append(f"{top}/{relative}: folder '{own}' is not in the declared order {ORDER}")
                continue
            for name in sorted(files):
                path = os.path.join(directory, name)
                shown = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as source:
                    for number, line in enumerate(source, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        target = layer_of_include(match.group(1), own)
                        if target not in rank or rank[target] <= rank[own]:
                            continue
                        if (shown, target) in KNOWN:
                            seen_known.add((shown, target))
                            continue
                        problems.append(f"{shown}:{number}: layer '{own}' includes '{match.group(1)}' of the "
                                        f"higher layer '{target}' (order: {' < '.join(ORDER)})")
    for shown, target in sorted(KNOWN - seen_known):
        problems.append(f"{shown} no longer includes layer '{target}': remove it from KNOWN in {__file__}")
    for problem in problems:
        print(problem)
    print(f"layers: {len(problems)} problem(s); {len(seen_known)} known exception(s) left")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
