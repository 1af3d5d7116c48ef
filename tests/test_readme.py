"""The README's code runs as printed: a newcomer's first contact must not fail."""
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files (a checkpoint)
    namespace = {}  # blocks build on the ones before them, as a reader's session would
    for i in range(index + 1):
        exec(compile(BLOCKS[i], f"README.md block {i}", "exec"), namespace)


def test_readme_has_code():
    assert len(BLOCKS) >= 2
