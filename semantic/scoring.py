"""Semantic fidelity of received or synthesised images, judged by gscsim's own CamVid segmenter.

The seed papers judge meaning with pretrained networks this machine cannot have
(CLIP, LPIPS, FID's Inception, YOLO, DDRNet). The offline substitute: the shipped
:class:`~semantic.segmentation.DualResolutionSegmenter` segments each image and

- ``miou``: mean IoU of its prediction on the output image against the true label
  map (void ignored; classes absent from both left out), per image;
- ``miou_reference``: the same on the original image, i.e. what the segmenter
  attains at all, so that a row shows how much of it a receiver keeps;
- ``fd_seg``: the Frechet distance between Gaussians fitted to the segmenter's
  feature vectors (one per location of its 1/2-resolution feature map) of the
  output images and of the originals. A proxy for distribution-level realism in
  a small network's feature space: it is *not* FID (no Inception features, no
  ImageNet statistics) and is not comparable with published FID values; it sees
  what the segmenter sees (layout and texture at its scale), and with few images
  it is biased upward.

With ``per_class``, also ``iou_<class>``: each class's IoU on the images where it is in
the prediction or the truth (the terms :func:`~semantic.metrics.miou` averages).
"""

from __future__ import annotations

import torch

from .metrics import frechet_distance, image_class_iou, miou
from .segmentation import DualResolutionSegmenter, segment

__all__ = ["SemanticScorer"]


class SemanticScorer:
    """Scores images against label maps with one segmenter.

    :param model: the segmenter (on the device where scoring runs).
    :param num_classes: classes of the label maps (CamVid: 11).
    :param void_id: label id that is ignored (CamVid: 11).
    :param class_names: names of the classes 0 .. num_classes - 1 for the ``iou_<name>`` keys
        (lower-cased); default ``class_<id>``.
    """

    def __init__(
        self, model: DualResolutionSegmenter, num_classes: int, void_id: int, class_names: tuple[str, ...] | None = None
    ):
        self.model, self.num_classes, self.void_id = model.eval(), num_classes, void_id
        names = class_names[:num_classes] if class_names else [f"class_{i}" for i in range(num_classes)]
        self.iou_keys = [f"iou_{name.lower()}" for name in names]

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """float64 (N * H/2 * W/2, width): the segmenter's feature vectors of float32 (N, 3, H, W) images."""
        device = next(self.model.parameters()).device
        feats = torch.cat([self.model.features(images[i : i + 64].to(device)) for i in range(0, len(images), 64)])
        return feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1]).double()

    def __call__(
        self, estimate: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor, per_class: bool = False
    ) -> dict:
        """``miou``, ``miou_reference`` (float32 (N,) per image) and ``fd_seg`` (float) of estimates
        float32 (N, 3, H, W) against the originals (N, 3, H, W) and their label maps int64 (N, H, W);
        with ``per_class``, ``iou_<class>`` float32 (n_c,) over the n_c images where the class is in
        the prediction or the truth (a class in none of them gets no key)."""
        labels = labels.to(estimate.device)
        ious = image_class_iou(segment(self.model, estimate), labels, self.num_classes, self.void_id)
        out = {
            "miou": ious.nanmean(-1),
            "miou_reference": miou(segment(self.model, reference), labels, self.num_classes, self.void_id),
            "fd_seg": frechet_distance(self.features(estimate), self.features(reference)),
        }
        if per_class:
            for key, column in zip(self.iou_keys, ious.T):
                if not column.isnan().all():
                    out[key] = column[~column.isnan()]
        return out
