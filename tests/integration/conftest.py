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


def pytest_sessionstart(session):
    """The vmlinux gets its gdb index before any crash or gdb opens it (in
    the controller only, before xdist starts its workers)."""
    if not hasattr(session.config, "workerinput") and crashrun.VMLINUX.exists():
        crashrun.indexed_vmlinux()
