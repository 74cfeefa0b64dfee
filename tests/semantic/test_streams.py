"""Per-stream source coding at a target rate: exact bit accounting."""

import pytest
import torch

from semantic.codecs import labelmap, streams


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


def test_class_region_is_macroblock_aligned_and_covers_the_mask():
    mask = torch.zeros(40, 56, dtype=torch.bool)
    mask[5:20, 17:30] = True
    top, left, h, w = streams.class_region(mask)
    assert (top, left) == (0, 16) and top % 16 == 0 and left % 16 == 0
    assert h == 32 and w == 16  # rows 0..31 cover 5..19; columns 16..31 cover 17..29
    assert mask[top : top + h, left : left + w].sum() == mask.sum()
    edge = torch.zeros(40, 56, dtype=torch.bool)
    edge[35:, 50:] = True
    assert streams.class_region(edge) == (32, 48, 8, 8)  # clipped to the frame
    assert streams.class_region(torch.zeros(8, 8, dtype=torch.bool)) == (0, 0, 0, 0)


def test_region_stream_budget_side_bits_and_placement():
    image, lab = scene(4, S=64)
    mask = lab == int(lab[20, 20])
    s = streams.code_class_region(image, mask, 4.0, class_pixels=409.6)
    assert s.source_bits == s.bits + streams.REGION_BITS <= 4.0 * 409.6
    out = streams.decode_class_region(s)
    top, left, h, w = s.region
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[top : top + h, left : left + w] = False
    assert out[:, outside].abs().max() == 0  # mid-grey outside the box
    fine = streams.decode_class_region(streams.code_class_region(image, mask, 64.0, class_pixels=409.6))
    assert (fine - image)[:, mask].abs().mean() < (out - image)[:, mask].abs().mean() + 1e-6
    assert (fine - image)[:, mask].abs().mean() < 0.2  # 4:2:0 chroma on 4-pixel colour blocks
    empty = streams.code_class_region(image, torch.zeros(64, 64, dtype=torch.bool), 1.0, 409.6)
    assert empty.bits == 0 and empty.source_bits == streams.REGION_BITS
    assert streams.decode_class_region(empty).abs().max() == 0
    with pytest.raises(ValueError, match="mask"):
        streams.code_class_region(image, mask[:32], 1.0, 409.6)


def test_class_stream_carries_its_own_outline_within_the_budget():
    image, lab = scene(4, S=64)
    mask = lab == int(lab[20, 20])
    with_outline = streams.code_class_region(image, mask, 6.0, class_pixels=409.6)
    pixels, where = streams.decode_class_stream(with_outline)
    assert with_outline.codec == "jpeg+mask" and torch.equal(where, mask)  # lossless outline
    assert with_outline.source_bits <= 6.0 * 409.6  # outline, length field and JPEG share the budget
    plain = streams.code_class_region(image, mask, 6.0, class_pixels=409.6, with_mask=False)
    plain_pixels, box = streams.decode_class_stream(plain)
    assert plain.codec == "jpeg" and box.sum() == plain.region[2] * plain.region[3] and box[mask].all()
    # the outline's bits come out of the JPEG's share: never a finer picture than without it
    assert plain.quality >= with_outline.quality
    top, left, h, w = with_outline.region
    outline = labelmap.rle_encode(mask[top : top + h, left : left + w].long(), 2).size
    assert with_outline.bits % 8 == (streams.MASK_LENGTH_BITS + outline) % 8  # the rest is whole JPEG bytes
    assert with_outline.bits >= streams.MASK_LENGTH_BITS + outline
    empty = streams.code_class_region(image, torch.zeros(64, 64, dtype=torch.bool), 1.0, 409.6)
    assert empty.bits == 0 and not streams.decode_class_stream(empty)[1].any()
