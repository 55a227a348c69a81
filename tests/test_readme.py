"""The README's Python example runs as written."""

from __future__ import annotations

import os
import re

from .conftest import ROOT


def test_readme_python_example_runs(monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    example = blocks[0]
    assert len([line for line in example.splitlines() if line.strip()]) <= 12
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["result"].summary["complete"] is True
    assert os.path.exists(ROOT / "scenarios" / "baseline.toml")
