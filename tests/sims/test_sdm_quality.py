"""`gscsim report sdm_quality`: an SDM and a SPADE GAN scored side by side (Fig. 18's comparison)."""

import torch

from semantic.pretrained import save_model
from semantic.receivers.sdm import SemanticUNet
from semantic.receivers.spadegan import SpadeGenerator
from sims.reports.sdm_quality import main


def test_sdm_and_gan_scored_side_by_side(tmp_path, fake_camvid, capsys):
    torch.manual_seed(0)
    sdm = save_model(SemanticUNet(12, (8, 8)), tmp_path / "sdm")
    gan = save_model(SpadeGenerator(12, (8, 8, 8), z_dim=8), tmp_path / "gan")
    out = tmp_path / "grid.png"
    main([str(sdm), str(gan), "--data-dir", str(fake_camvid), "--count", "4", "--steps", "2", "--scales", "1,2",
          "--segmenter", "none", "--out", str(out)])  # fmt: skip
    lines = [line for line in capsys.readouterr().out.splitlines() if "psnr" in line]
    assert [line.split(":")[0] for line in lines] == [f"{sdm} s = 1", f"{sdm} s = 2", str(gan)]
    for line in lines:
        values = dict(item.rsplit(" ", 1) for item in line.split(": ", 1)[1].split(", "))
        assert 0 < float(values["ms_ssim_2_non_intended"]) <= 1 and float(values["ms_per_image"]) > 0
    assert out.exists()


def test_partial_maps_hide_and_unscore_the_dropped_classes():
    import torch

    from semantic.data import CAMVID_VOID_ID
    from sims.reports.sdm_quality import partial_maps

    labels = torch.randint(0, 11, (20, 6, 6), generator=torch.Generator().manual_seed(0))
    maps, scored = partial_maps(labels, 0.5, seed=3)
    shown = maps.sum(1) > 0  # pixels whose class was kept
    assert torch.equal(scored[shown], labels[shown]) and torch.all(scored[~shown] == CAMVID_VOID_ID)
    assert 0.3 < shown.float().mean() < 0.7
    full, same = partial_maps(labels, 1.0, seed=3)
    assert torch.equal(same, labels) and torch.all(full.sum(1) == 1)
