import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import crashrun  # noqa: E402


def pytest_collection_modifyitems(config, items):
    missing = [p for p in (crashrun.VMLINUX, crashrun.EXTENSION) if not p.exists()]
    if missing:
        # make check builds both first; running pytest by hand without them is an error, not a skip.
        raise pytest.UsageError(f"missing {', '.join(map(str, missing))}: run 'make dumps build' first")
