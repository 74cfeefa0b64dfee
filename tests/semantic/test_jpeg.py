"""JPEG with agreed headers."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from semantic.codecs import jpeg


def images(n=3, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 3, size, size, generator=g), 3, 1, 1)
    return x * 2 - 1


@pytest.mark.parametrize("quality", [1, 10, 50, 95])
def test_payload_decodes_to_the_full_files_image(quality):
    for image in images():
        full = jpeg.encode(image, quality)
        header, data = jpeg.split(full)
        assert full == header + data + b"\xff\xd9"
        assert len(header) > 500  # tables dominate a 32x32 file
        via_payload = jpeg.decode(jpeg.payload(image, quality), quality, 32, 32)
        direct = np.asarray(Image.open(io.BytesIO(full)).convert("RGB"), dtype=np.float32) / 127.5 - 1
        assert torch.equal(via_payload, torch.from_numpy(direct).permute(2, 0, 1))


def test_payload_grows_with_quality():
    sizes = [len(jpeg.payload(images(1)[0], q)) for q in (1, 25, 50, 75, 95)]
    assert sizes == sorted(sizes) and sizes[0] < 60 < sizes[-1]


def test_split_rejects_non_jpeg():
    with pytest.raises(ValueError, match="JPEG"):
        jpeg.split(b"not a jpeg")
