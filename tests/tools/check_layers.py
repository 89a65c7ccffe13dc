#!/usr/bin/env python3
"""Checks include/attend, src and tools against the declared layers, as README.md states them.

Includes: a file in layer L may include headers of L and of layers below it, never above; there
are no exceptions. Namespaces: the functional layers (core, kernels, ops, attention) put their
code in namespace attend (kernels in attend::kernels; internal helpers of src/ in attend::detail),
and every layer above in attend::<folder>, as does tools/ (attend::tools).
Exit status 0 when both hold, 1 with every offending line otherwise.
"""
import os
import re
import sys

# Lowest first. kernels/ lives in src/ only; tools/ (the CLI) sits on top of everything.
ORDER = ["core", "kernels", "ops", "quant", "attention", "nn", "io", "gguf", "distributed", "text", "bpe", "data", "sampling",
         "models", "decoder", "serve", "train", "viz"]
FUNCTIONAL = {"core", "ops", "attention"}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
NAMESPACE = re.compile(r"^\s*namespace\s+(attend[A-Za-z_:]*)\s*\{")


def layer_of_include(include, own_layer):
    parts = include.split("/")
    if parts[0] == "attend" and len(parts) > 2:
        return parts[1]
    if len(parts) > 1 and parts[0] in ORDER:  # src-relative, e.g. "kernels/flash_attention.h"
        return parts[0]
    return own_layer  # a header beside the file


def allowed_namespaces(layer, top):
    if layer == "kernels":
        return {"attend::kernels"}
    if layer in FUNCTIONAL:
        return {"attend", "attend::detail"} if top == "src" else {"attend"}
    return {f"attend::{layer}"}


def check_file(path, shown, own, top, rank):
    problems = []
    with open(path, encoding="utf-8", errors="replace") as source:
        for number, line in enumerate(source, 1):
            namespace = NAMESPACE.match(line)
            if namespace and namespace.group(1) not in allowed_namespaces(own, top):
                problems.append(f"{shown}:{number}: namespace {namespace.group(1)} in layer '{own}', which uses "
                                f"{' or '.join(sorted(allowed_namespaces(own, top)))}")
            include = INCLUDE.match(line)
            if not include or own == "tools":
                continue
            target = layer_of_include(include.group(1), own)
            if target in rank and rank[target] > rank[own]:
                problems.append(f"{shown}:{number}: layer '{own}' includes '{include.group(1)}' of the "
                                f"higher layer '{target}' (order: {' < '.join(ORDER)})")
    return problems


def main(root):
    rank = {name: i for i, name in enumerate(ORDER)}
    problems = []
    for top in ("include/attend", "src", "tools"):
        for directory, _, files in os.walk(os.path.join(root, top)):
            relative = os.path.relpath(directory, os.path.join(root, top))
            own = "tools" if top == "tools" else relative.split(os.sep)[0]
            if own == ".":
                continue  # include/attend/attend.h: the umbrella header includes every layer
            if own not in rank and own != "tools":
                problems.append(f"{top}/{relative}: folder '{own}' is not in the declared order {ORDER}")
                continue
            for name in sorted(files):
                path = os.path.join(directory, name)
                problems += check_file(path, os.path.relpath(path, root), own, top, rank)
    for problem in problems:
        print(problem)
    print(f"layers: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
