"""Every ```python block of docs/python.md runs: the documentation cannot drift from the module."""
import os
import re

import pytest

from conftest import ROOT

with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
    BLOCKS = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_there_are_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index):
    exec(compile(BLOCKS[index], f"docs/python.md block {index}", "exec"), {})
