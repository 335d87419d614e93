"""Every ```python block of README.md runs as written (in a temporary folder).

```python blocks are complete programs; ```py marks fragments (the Ray and
mpi4py sketches, which need an engine and data fastgrad does not ship)."""
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README).read(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    if "matplotlib" in BLOCKS[index] or "fastgrad.plot" in BLOCKS[index]:
        pytest.importorskip("matplotlib", reason="the plotting example needs fastgrad[plot]")
    if "fastgrad.dask" in BLOCKS[index]:
        pytest.importorskip("distributed", reason="the Dask example needs fastgrad[dask] "
                            "(tests/dask runs the same fit on a LocalCluster)")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {"__name__": "__readme__"})
