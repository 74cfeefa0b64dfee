"""The receiver's view of the link as a linear measurement of the image.

y = A x + n with A = D P: P maps the image to its normalised complex signal
(a permutation, a packing and a scale, see :class:`~bridges.signal.SignalLayout`)
and D is diagonal over the S x M entries: zero for entries never sent, and
the per-entry gain otherwise (1 for equalised or decoded values, or the
channel h for raw received values). A and its pseudo-inverse
A+ = P^-1 D+ are therefore elementwise operations; no matrix is ever formed.
A+ A is the orthogonal projection onto the received pixels, and A A+ y = y
for every y supported on the sent entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .signal import SignalLayout

__all__ = ["MeasurementOperator"]


@dataclass
class MeasurementOperator:
    """A = diag(d) P, applied to images (B, K, C, H, W).

    :param layout: image <-> signal mapping.
    :param scale: float32 (B, K) power-normalisation scales (signal = image / scale).
    :param diagonal: complex64 (B, K, S, M) d; zero where nothing was received.
    """

    layout: SignalLayout
    scale: torch.Tensor
    diagonal: torch.Tensor
    #: D+, computed on the first A_pinv (a sampler applies A+ at every step; D does not change)
    _inverse: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def entry_mask(self) -> torch.Tensor:
        """bool (B, K, S, M): entries that carry a measurement."""
        return self.diagonal != 0

    @property
    def pixel_mask(self) -> torch.Tensor:
        """bool (B, K, C, H, W): pixels that carry a measurement."""
        return self.layout.entry_mask_to_image(self.entry_mask)

    def A(self, images: torch.Tensor) -> torch.Tensor:
        """Measurement of ``images``: float (B, K, C, H, W) -> complex64 (B, K, S, M)."""
        signal, _ = self.layout.to_signal(images, normalize=False)
        return self.diagonal * signal / self.scale[..., None, None]

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        """Least-norm image consistent with ``y``: complex (B, K, S, M) -> float (B, K, C, H, W).

        Pixels without a measurement come back as zero.
        """
        if self._inverse is None:
            d = self.diagonal
            gain = d.real.square() + d.imag.square()
            self._inverse = torch.where(gain > 0, d.conj() / torch.where(gain > 0, gain, 1.0), 0)
        return self.layout.to_images(self._inverse * y, self.scale)

    def project(self, images: torch.Tensor) -> torch.Tensor:
        """A+ A x: keep the received pixels of ``images``, zero the others."""
        return self.A_pinv(self.A(images))
