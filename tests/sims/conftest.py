"""Fixtures of the sims tests: the toy methods and plugin channels importable as plugins."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def toy_plugin(monkeypatch):
    """tests/sims on sys.path: scenarios name ``toy_methods`` / ``channel_plugin`` as plugins."""
    monkeypatch.syspath_prepend(str(HERE))
