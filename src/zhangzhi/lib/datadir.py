"""Where the shared data lives (regions and borders, GB 3838, HJ 212 samples and notes).

One lookup for settings, tests, the demo and the benchmarks: ``$ZHANGZHI_DATA_DIR``, else
``<repository>/../shared/data``. No Django import, so benchmarks and pure modules can use it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def data_dir() -> Path:
    """The data directory, read from the environment at each call (tests may point it elsewhere)."""
    env = os.environ.get("ZHANGZHI_DATA_DIR")
    return Path(env).resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()
