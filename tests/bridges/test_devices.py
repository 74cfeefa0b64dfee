"""Every bridge names the device of its Sionna blocks and tensors.

On a GPU machine Sionna's default device is cuda:0 while a run may ask for the
CPU (and the other way round). With Sionna's default set to the meta device
(no data), anything that fell back to it would fail: this proves on a CPU
machine that the bridges run wholly on the device they were given.
"""

import numpy as np
import pytest
import torch

from bridges.jscc import SymbolLink
from bridges.separation import SeparationLink
from bridges.streams import StreamLink
from phy import CodeConfig, GridConfig, LinkConfig, channel_config, make_generator
from semantic.codecs import streams


@pytest.fixture(autouse=True)
def sionna_defaults_to_meta(monkeypatch):
    from sionna.phy import config

    monkeypatch.setattr(config, "_device", "meta")


def test_symbol_link_with_pilots_and_tdl():
    link = LinkConfig(grid=GridConfig(num_users=2, num_ofdm_symbols=4), channel=channel_config("tdl"),
                      code=CodeConfig(kind="uncoded", k=64, n=64))  # fmt: skip
    sl = SymbolLink(link, 32, pilot_symbols=1)
    z = torch.ones(3, 2, 32, dtype=torch.complex64)
    z_hat, no, _ = sl(z, 20.0, make_generator(0))
    assert z_hat.device.type == "cpu" and z_hat.shape == z.shape and torch.isfinite(no).all()


def test_separation_link():
    link = LinkConfig(grid=GridConfig(num_users=2, num_ofdm_symbols=16), channel=channel_config("rayleigh_block"),
                      code=CodeConfig(k=512, n=1024))  # fmt: skip
    sep = SeparationLink(link, 256)
    images = torch.rand(1, 2, 3, 16, 16) * 2 - 1
    out = sep(images, 30.0, make_generator(1))
    assert out.images.device.type == "cpu" and bool(out.delivered.all())


def test_stream_link():
    link = StreamLink(1e6)
    stream = streams.code_map(torch.randint(0, 12, (16, 16)), 12, "rle")
    delivery = link.send(stream, np.array([5.0, 25.0]), make_generator(2))
    assert delivery.delivered.tolist() == [True, True]
