"""Per-stream source coding at a target rate: exact bit accounting."""

import pytest
import torch

from semantic.codecs import streams


def scene(seed=0, S=32):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, 12, (S // 8, S // 8), generator=g).repeat_interleave(8, 0).repeat_interleave(8, 1)
    image = (torch.rand(3, S // 4, S // 4, generator=g) * 2 - 1).repeat_interleave(4, 1).repeat_interleave(4, 2)
    return image, lab


@pytest.mark.parametrize("rate", [4.0, 8.0, 16.0])
def test_class_stream_fits_its_budget_and_counts_exactly(rate):
    image, _ = scene()
    s = streams.code_class_image(image, rate, class_pixels=102.4)
    assert s.bits == len(s.payload) * 8
    assert s.bits <= rate * 102.4
    better = streams.code_class_image(image, rate * 2, class_pixels=102.4)
    assert better.quality >= s.quality and better.bits >= s.bits
    assert streams.decode_class_image(s).shape == (3, 32, 32)


def test_budget_below_the_smallest_jpeg_is_reported_not_cut():
    image, _ = scene(1)
    s = streams.code_class_image(image, 0.01, class_pixels=102.4)
    assert s.quality == 1 and s.bits > 0.01 * 102.4 and s.bits == len(s.payload) * 8


@pytest.mark.parametrize("codec", ["rle", "png"])
def test_lossless_map_streams(codec):
    _, lab = scene(2)
    s = streams.code_map(lab, 12, codec)
    assert torch.equal(streams.decode_map(s, 12), lab)
    assert s.bits == (s.payload.size if codec == "rle" else len(s.payload) * 8)


def test_jpeg_map_stream_and_errors():
    _, lab = scene(3)
    s = streams.code_map(lab, 12, "jpeg", rate_bpp=2.0)
    assert s.bits <= 2.0 * lab.numel() and s.bits == len(s.payload) * 8
    assert streams.decode_map(s, 12).shape == lab.shape
    with pytest.raises(ValueError, match="rate_bpp"):
        streams.code_map(lab, 12, "jpeg")
    with pytest.raises(ValueError, match="codec"):
        streams.code_map(lab, 12, "gif")
