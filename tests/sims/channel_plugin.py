"""A channel kind defined outside gscsim (imported as a scenario plugin by the tests).

``scaled_awgn``: h = gain on every resource element, so the received SNR is the
set SNR plus 20 log10(gain) dB.
"""

from typing import ClassVar, Literal

import torch
from pydantic import Field

from phy.channels import ChannelSampler, register_channel
from phy.config import ChannelConfig


class ScaledAwgnConfig(ChannelConfig):
    """h = gain (a real constant)."""

    kind: Literal["scaled_awgn"] = "scaled_awgn"
    gain: float = Field(1.0, gt=0, description="amplitude gain of the channel")
    is_flat: ClassVar[bool] = True


@register_channel(ScaledAwgnConfig)
class ScaledAwgnSampler(ChannelSampler):
    def __call__(self, batch_size, generator):
        return torch.full(self.shape(batch_size), self.config.gain, dtype=torch.complex64, device=self.device)
