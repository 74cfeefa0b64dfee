"""Shared test helpers: small links on the CPU, and the threads every test runs with.

Threads are pinned before any test: torch and numba default to one thread per
core each, and on a small CI machine they oversubscribe the cores (one BLER test
took 101 s instead of 11 s). ``GSCSIM_TEST_THREADS`` overrides the count.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

THREADS = int(os.environ.get("GSCSIM_TEST_THREADS", min(2, os.cpu_count() or 1)))
os.environ.setdefault("NUMBA_NUM_THREADS", str(THREADS))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))


def pytest_configure(config):
    import numba
    import torch

    torch.set_num_threads(THREADS)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` need a CUDA device: skipped, saying so, where torch sees none."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False); `make gpu-check` runs these")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)

from phy import CodeConfig, GridConfig, LinkConfig, channel_config


def make_link_config(
    modulation: str = "16qam",
    channel: str = "awgn",
    coded: bool = False,
    num_subcarriers: int = 16,
    num_users: int = 2,
    num_ofdm_symbols: int = 2,
    demapping: str = "maxlog",
    code: CodeConfig | None = None,
    **channel_kwargs,
) -> LinkConfig:
    """A small link; uncoded blocks fill each user's slot exactly.

    Max-log demapping by default: its hard decisions are those of the nearest-point
    symbol detector that the closed-form BERs assume.
    """
    grid = GridConfig(
        num_subcarriers=num_subcarriers, num_users=num_users, num_ofdm_symbols=num_ofdm_symbols
    )
    m = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}[modulation]
    capacity = num_ofdm_symbols * grid.n * m
    if code is None:
        code = CodeConfig(k=512, n=1024) if coded else CodeConfig(kind="uncoded", k=capacity, n=capacity)
    return LinkConfig(
        modulation=modulation,
        demapping=demapping,
        code=code,
        grid=grid,
        channel=channel_config(channel, **channel_kwargs),
    )


@pytest.fixture
def link_config():
    return make_link_config


@pytest.fixture(scope="session")
def camvid_dir() -> Path:
    """The real CamVid folder ($GSCSIM_DATA_DIR or ../shared/data/camvid); skips when absent."""
    candidates = [os.environ.get("GSCSIM_DATA_DIR"), Path(__file__).parents[1] / ".." / "shared" / "data" / "camvid"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "val").is_dir():
            return Path(candidate).resolve()
    pytest.skip("CamVid not present (set GSCSIM_DATA_DIR); CI points at ../shared/data/camvid")


def write_fake_camvid(
    root: Path, n_train: int = 4, n_val: int = 4, size=(48, 36), absolute_lists=False, n_test: int = 0,
    sequences: tuple[str, ...] = ("seq",),
) -> Path:
    """A tiny CamVid folder in the SegNet layout: random RGB images, labels 0..11 (a test split if n_test);
    frame i is named after ``sequences[i % len(sequences)]`` (CamVid's file-name prefixes)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", n_train), ("val", n_val), ("test", n_test)):
        if not count:
            continue
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(exist_ok=True)
        lines = []
        for i in range(count):
            name = f"{sequences[i % len(sequences)]}_{i:03d}.png"
            Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(root / split / name)
            Image.fromarray(rng.integers(0, 12, (size[1], size[0]), dtype=np.uint8), mode="L").save(
                root / f"{split}annot" / name
            )
            prefix = "/SegNet/CamVid/" if absolute_lists else ""
            lines.append(f"{prefix}{split}/{name} {prefix}{split}annot/{name}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def fake_camvid(tmp_path) -> Path:
    return write_fake_camvid(tmp_path / "camvid")


@pytest.fixture
def study_data_dir(tmp_path, monkeypatch) -> Path:
    """$GSCSIM_DATA_DIR pointed at a fake CamVid with as many frames as the shipped studies ask for,
    so that they validate on a machine without CamVid (validation checks the folder and the count)."""
    root = write_fake_camvid(tmp_path / "study_camvid", n_train=48, n_val=101, size=(8, 8))  # val: CamVid's 101
    monkeypatch.setenv("GSCSIM_DATA_DIR", str(root))
    return root
