#!/usr/bin/env python3
"""Writes every ```cpp block of the given Markdown files as the body of a main() in OUT_DIR,
one file per block, and prints the written paths (one per line)."""
import pathlib
import re
import sys

PRELUDE = """// Generated from {doc}, block {index}: do not edit.
#include <cmath>
#include <cstdio>
#include "attend/attend.h"
using namespace attend;
int main() {{
{body}
  std::puts("ok");
  return 0;
}}
"""


def main() -> None:
    out_dir = pathlib.Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for doc in sys.argv[2:]:
        path = pathlib.Path(doc)
        blocks = re.findall(r"^```cpp\n(.*?)^```", path.read_text(), flags=re.S | re.M)
        for index, body in enumerate(blocks):
            target = out_dir / f"doc_{path.stem}_{index}.cc"
            text = PRELUDE.format(doc=path.name, index=index, body=body)
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
            print(target)


if __name__ == "__main__":
    main()
