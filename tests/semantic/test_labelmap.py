"""Label-map codecs: exact round trips and exact bit counts."""

import math

import numpy as np
import pytest
import torch

from semantic.codecs import labelmap


def blocky(seed=0, S=32, ids=12):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, ids, (S // 8, S // 8), generator=g)
    return coarse.repeat_interleave(8, 0).repeat_interleave(8, 1)


def test_png_and_rle_are_lossless():
    lab = blocky()
    assert torch.equal(labelmap.png_decode(labelmap.png_encode(lab, 12)), lab)
    bits = labelmap.rle_encode(lab, 12)
    assert torch.equal(labelmap.rle_decode(bits, 12, 32, 32), lab)


def test_rle_bit_count_is_exact():
    lab = torch.tensor([[3, 3, 3, 0], [0, 0, 0, 0]])
    # runs (3, 3), (0, 5): 4-bit ids for 12 ids; gamma(3) = 011, gamma(5) = 00101
    bits = labelmap.rle_encode(lab, 12)
    assert "".join(map(str, bits)) == "0011" + "011" + "0000" + "00101"
    assert len(bits) == 2 * math.ceil(math.log2(12)) + 3 + 5


def test_jpeg_map_is_lossy_but_close_at_high_quality():
    lab = blocky(1)
    data = labelmap.jpeg_encode(lab, 12, 95)
    back = labelmap.jpeg_decode(data, 12, 95, 32, 32)
    assert (back == lab).float().mean() > 0.9
    assert len(labelmap.jpeg_encode(lab, 12, 10)) < len(data)


def test_bad_map():
    with pytest.raises(ValueError, match="label ids"):
        labelmap.rle_encode(torch.full((4, 4), 12), 12)
    with pytest.raises(ValueError, match="H, W"):
        labelmap.png_encode(torch.zeros(1, 4, 4, dtype=torch.int64), 12)
    assert np.all(labelmap.rle_encode(torch.zeros(0, 0, dtype=torch.int64), 12) == 0)
