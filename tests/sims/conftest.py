"""Fixtures of the sims tests: the toy methods and plugin channels importable as plugins."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def toy_plugin(monkeypatch):
    """tests/sims on sys.path: scenarios name ``toy_methods`` / ``channel_plugin`` as plugins."""
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture(scope="module")
def tiny_sdm(tmp_path_factory) -> str:
    """A folder holding a small random SemanticUNet (12 label channels) saved as a trained model."""
    import torch

    from semantic.pretrained import save_model
    from semantic.receivers.sdm import SemanticUNet

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("sdm") / "tiny"
    save_model(SemanticUNet(12, (8, 8)), folder)
    return str(folder)
