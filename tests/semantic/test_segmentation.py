"""The CamVid segmenter, mIoU and the Frechet distance in its feature space."""

import pytest
import torch

from semantic.metrics import class_iou, frechet_distance, image_class_iou, miou
from semantic.pretrained import load_pretrained, save_model
from semantic.scoring import SemanticScorer
from semantic.segmentation import DualResolutionSegmenter, segment, segmenter_name


def test_iou_by_hand_with_absent_classes_and_void():
    # truth (void = 11 ignored): 0 0 1 2 | 2 2 . . ; prediction: 0 0 1 1 | 2 2 (1) (11)
    predicted = torch.tensor([[[0, 0, 1, 1], [2, 2, 1, 11]]])
    labels = torch.tensor([[[0, 0, 1, 2], [2, 2, 11, 11]]])
    iou = class_iou(predicted, labels, 11, 11)
    # class 0: 2/2; class 1: TP 1, FP 1 -> 1/2; class 2: TP 2, FN 1 -> 2/3; classes 3..10 absent
    torch.testing.assert_close(iou[:3], torch.tensor([1.0, 0.5, 2 / 3]))
    assert torch.isnan(iou[3:]).all()
    assert float(miou(predicted, labels, 11, 11)[0]) == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    assert float(miou(labels, labels, 11, 11)[0]) == 1.0
    # per image: the second image has class 3 only (predicted as 4): IoU 0 for both, the rest absent
    both = torch.cat([predicted, torch.full_like(predicted, 4)])
    per_image = image_class_iou(both, torch.cat([labels, torch.full_like(labels, 3)]), 11, 11)
    torch.testing.assert_close(per_image[0, :3], iou[:3])
    assert per_image[1, 3] == 0 and per_image[1, 4] == 0 and torch.isnan(per_image[1, [0, 1, 2, 5]]).all()


def test_a_training_step_lowers_the_loss_and_shapes_hold():
    torch.manual_seed(0)
    model = DualResolutionSegmenter(num_classes=5, width=8, image_size=16)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()  # a learnable map
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert model(x).shape == (4, 5, 16, 16) and segment(model, x).shape == (4, 16, 16)
    assert model.features(x).shape == (4, 8, 8, 8)
    with pytest.raises(ValueError, match="multiple of 8"):
        model(torch.zeros(1, 3, 30, 30))


def test_save_and_load_by_folder(tmp_path):
    model = DualResolutionSegmenter(11, 8, 32).eval()
    save_model(model, tmp_path / "seg", {"note": 1})
    back = load_pretrained(tmp_path / "seg")
    assert type(back) is DualResolutionSegmenter and back.config.width == 8
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(segment(back, x), segment(model, x))


class OracleSegmenter(torch.nn.Module):
    """Reads the label a test image encodes in its red channel: an oracle for the scorer."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def features(self, images):
        return images[:, :, ::2, ::2]

    def forward(self, images):
        ids = ((images[:, 0] + 1) * 5.5).round().long().clamp(0, 10)
        return torch.nn.functional.one_hot(ids, 11).permute(0, 3, 1, 2).float()


def test_the_true_image_through_an_oracle_scores_one():
    labels = torch.randint(0, 12, (3, 16, 16), generator=torch.Generator().manual_seed(0))
    images = (labels.clamp(max=10).float() / 5.5 - 1)[:, None].expand(3, 3, 16, 16).contiguous()
    images = images + 0.01 * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))
    scorer = SemanticScorer(OracleSegmenter(), 11, 11)
    out = scorer(images, images, labels)
    assert torch.equal(out["miou"], torch.ones(3)) and torch.equal(out["miou_reference"], torch.ones(3))
    assert out["fd_seg"] == pytest.approx(0.0, abs=1e-6)
    worse = scorer(torch.zeros_like(images), images, labels)
    assert float(worse["miou"].mean()) < 0.3 and worse["fd_seg"] > 0.1


def test_frechet_distance_of_shifted_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g)
    b = torch.randn(20000, 3, generator=g) + torch.tensor([1.0, 0.0, 2.0])
    assert frechet_distance(a, b) == pytest.approx(5.0, rel=0.05)  # |shift|^2, equal covariances
    with pytest.raises(ValueError, match="feature sets"):
        frechet_distance(a[:1], b)


def test_segmenter_names():
    assert segmenter_name(64) == "camvid-seg-64"


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shipped_segmenters_reach_their_val_miou(camvid_dir, size):
    """Each shipped segmenter loads by name and reaches, on all of CamVid val, the mIoU its
    training.json reports (and the README quotes), less 0.01."""
    from semantic.pretrained import shipped_models, training_info
    from sims.train.segmenter import evaluate_segmenter

    name = segmenter_name(size)
    assert name in shipped_models()
    model = load_pretrained(name)
    assert type(model) is DualResolutionSegmenter and model.config.image_size == size
    result = evaluate_segmenter(model, camvid_dir, size)
    reported = training_info(name)["val"]["miou"]
    assert result["images"] == 101 and result["miou"] >= reported - 0.01 and reported > 0.4
