"""Box semantics (seed 003, Section IV): boxes from label maps, 5-bit codes, bits, masks, IoU."""

import pytest
import torch

from semantic.boxes import (
    bits_to_codes,
    box_bits,
    box_iou,
    box_mask,
    boxes_from_labels,
    codes_to_bits,
    dequantize_boxes,
    matched_box_iou,
    quantize_boxes,
    quantize_unit,
)


def test_unit_quantiser_is_within_half_a_step():
    values = torch.cat([torch.rand(10000, generator=torch.Generator().manual_seed(0)), torch.tensor([0.0, 1.0, 0.5])])
    codes, recon = quantize_unit(values, bits=5)
    assert codes.min() >= 0 and codes.max() <= 31
    assert (recon - values).abs().max() <= 1 / 64 + 1e-7  # resolution 0.03125, half of it
    assert (recon - values).abs().max() > 1 / 64 - 1e-3  # and the bound is tight


def test_boxes_from_a_hand_made_map():
    labels = torch.zeros(32, 32, dtype=torch.long)
    labels[2:6, 4:12] = 8  # 4 x 8
    labels[20:30, 20:32] = 8  # 10 x 12, touches the right edge
    labels[0, 0] = 8  # one pixel: below min_area
    labels[10:14, 10:14] = 3  # another class
    boxes = boxes_from_labels(labels, class_id=8, min_area=2 / 1024)
    expected = torch.tensor([[20 / 32, 20 / 32, 1.0, 30 / 32], [4 / 32, 2 / 32, 12 / 32, 6 / 32]])
    torch.testing.assert_close(boxes, expected)  # largest first
    assert len(boxes_from_labels(labels, 8, min_area=0.0)) == 3
    assert boxes_from_labels(torch.zeros(8, 8, dtype=torch.long), 8).shape == (0, 4)


def test_codes_are_exact_on_the_32_grid_and_contain_the_box_elsewhere():
    labels = torch.zeros(32, 32, dtype=torch.long)
    labels[3:9, 0:7] = 8
    labels[15:32, 25:32] = 8
    boxes = boxes_from_labels(labels, 8)
    torch.testing.assert_close(dequantize_boxes(quantize_boxes(boxes)), boxes)
    g = torch.Generator().manual_seed(1)
    lo = torch.randint(0, 80, (200, 2), generator=g)
    hi = lo + torch.randint(1, 20, (200, 2), generator=g)
    fine = torch.cat([lo, hi], 1).float() / 100  # boxes on a 100-pixel grid
    decoded = dequantize_boxes(quantize_boxes(fine))
    assert (decoded[:, :2] <= fine[:, :2] + 1e-6).all() and (decoded[:, 2:] >= fine[:, 2:] - 1e-6).all()
    assert (decoded - fine).abs().max() < 1 / 32


def test_bits_round_trip_and_count():
    codes = torch.tensor([[0, 31, 5, 17], [1, 2, 3, 4], [31, 31, 31, 31]])
    stream = codes_to_bits(codes)
    assert stream.numel() == box_bits(3) == 60 and stream.dtype == torch.uint8
    assert set(stream.tolist()) <= {0, 1}
    assert stream[:5].tolist() == [0, 0, 0, 0, 0] and stream[5:10].tolist() == [1, 1, 1, 1, 1]
    torch.testing.assert_close(bits_to_codes(stream), codes)
    with pytest.raises(ValueError, match="multiple of 20"):
        bits_to_codes(stream[:-1])


def test_box_iou_on_hand_made_boxes():
    a = torch.tensor([[0.0, 0.0, 0.5, 0.5]])
    b = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5], [0.6, 0.6, 1.0, 1.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1.0, 1 / 3, 0.0]]))
    assert matched_box_iou(a, b) == pytest.approx(1.0)
    assert matched_box_iou(torch.cat([a, b[2:]]), b[1:2]) == pytest.approx((1 / 3 + 0) / 2)
    assert matched_box_iou(a, torch.zeros(0, 4)) == 0.0


def test_box_mask_marks_pixel_centres_inside():
    mask = box_mask(torch.tensor([[0.25, 0.5, 0.5, 1.0]]), 8, 4)
    assert mask.shape == (8, 4)
    assert mask.sum() == 4 * 1 and mask[4:, 1].all()


def test_bad_boxes_are_refused():
    with pytest.raises(ValueError, match="x0 < x1"):
        quantize_boxes(torch.tensor([[0.5, 0.0, 0.4, 0.2]]))
    with pytest.raises(ValueError, match=r"\(M, 4\)"):
        quantize_boxes(torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        boxes_from_labels(torch.zeros(1, 4, 4, dtype=torch.long), 8)
