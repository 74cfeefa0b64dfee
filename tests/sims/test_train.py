"""`gscsim train ddpm` and `gscsim train jscc` on tiny fake CamVid: the loss falls, the weights
save in the one convention (config.json + safetensors + training.json) and load back."""

import json

import pytest
import torch

from semantic.jscc import DeepJSCC, DeepJSCCOFDM, load_jscc
from semantic.pretrained import (
    load_diffusion,
    load_pretrained,
    model_sample_size,
    training_info,
)
from sims.cli import main


def _falls(losses: list) -> bool:
    return losses[-1][1] < 0.9 * losses[0][1]


def test_train_ddpm_from_the_command_line(tmp_path, fake_camvid):
    out = tmp_path / "ddpm"
    argv = [
        "train", "ddpm", "--data-dir", str(fake_camvid), "--output", str(out), "--image-size", "16",
        "--channels", "16,16", "--steps", "60", "--batch-size", "8", "--lr", "2e-3", "--warmup-steps", "0",
        "--scales", "1.0", "--checkpoint-every", "30", "--log-every", "10", "--device", "cpu", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["config"]["channels"] == [16, 16] and info["steps"] == 60
    assert _falls(info["losses"]), info["losses"]
    unet, scheduler = load_diffusion(str(out / "model"))
    assert model_sample_size(str(out / "model")) == 16 and scheduler.config.num_train_timesteps == 1000
    assert (out / "model" / "unet" / "diffusion_pytorch_model.safetensors").exists()
    with torch.no_grad():
        assert unet(torch.zeros(1, 3, 16, 16), 10).sample.shape == (1, 3, 16, 16)
    # --resume continues from the checkpoint: more steps, the earlier losses kept
    resume = [*argv, "--resume"]
    resume[resume.index("--steps") + 1] = "70"
    assert main(resume) == 0
    resumed = json.loads((out / "training.json").read_text())
    assert resumed["steps"] == 70 and resumed["losses"][:6] == info["losses"][:6]


@pytest.mark.parametrize("variant, pilots", [("awgn", 0), ("ofdm", 1), ("tdl-lmmse", 0)])
def test_train_jscc_from_the_command_line(tmp_path, fake_camvid, variant, pilots):
    out = tmp_path / variant
    argv = [
        "train", "jscc", "--variant", variant, "--ratio", "1/12", "--snr-db", "10,20", "--data-dir", str(fake_camvid),
        "--output", str(out), "--image-size", "16", "--steps", "40", "--batch-size", "8", "--lr", "3e-3",
        "--scales", "1.0", "--log-every", "10", "--device", "cpu", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    info = training_info(str(out))
    assert info["variant"] == variant and info["train"]["snr_db"] == [10.0, 20.0]
    assert _falls(info["losses"]), info["losses"]
    model = load_jscc(str(out))
    assert isinstance(model, DeepJSCC) and model.config.pilot_symbols == pilots and model.channels == 8
    assert type(load_pretrained(str(out))) is DeepJSCC
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert model.decode(model.encode(x), 16, 16).shape == x.shape


@pytest.mark.parametrize("variant,receiver", [("ofdm-i", "implicit"), ("ofdm-e", "explicit")])
def test_train_ofdm_i_and_e_with_erasures_then_fine_tune(tmp_path, fake_camvid, variant, receiver):
    """DeepJSCC-OFDM-I/-E train through TDL-A with erased subcarriers; ``--init`` continues from them."""
    out = tmp_path / variant
    common = [
        "--data-dir", str(fake_camvid), "--image-size", "16", "--batch-size", "8", "--scales", "1.0",
        "--log-every", "10", "--device", "cpu", "--quiet", "--snr-db", "5,20", "--erasure-nm", "0.5,1.0",
    ]  # fmt: skip
    argv = ["train", "jscc", "--variant", variant, "--ratio", "1/2", "--output", str(out), "--steps", "40",
            "--lr", "3e-3", "--schedule", "cosine", *common]  # fmt: skip
    assert main(argv) == 0
    info = training_info(str(out))
    assert info["train"]["erasure_nm"] == [0.5, 1.0]
    assert info["losses"][-1][1] < 0.97 * info["losses"][0][1], info["losses"]
    model = load_jscc(str(out))
    assert isinstance(model, DeepJSCCOFDM) and model.receiver == receiver and model.config.snr_range_db == [5.0, 20.0]
    tuned = tmp_path / f"{variant}-tuned"
    argv = ["train", "jscc", "--variant", variant, "--ratio", "1/2", "--output", str(tuned), "--steps", "10",
            "--lr", "1e-3", "--init", str(out), *common]  # fmt: skip
    assert main(argv) == 0
    assert training_info(str(tuned))["train"]["init"] == str(out)
    assert "_name_or_path" not in json.loads((tuned / "config.json").read_text())  # no local path ships
    assert load_jscc(str(tuned)).receiver == receiver


def test_trainer_flags_come_from_the_config_models(capsys):
    from sims.train.jscc import JsccTrainConfig

    with pytest.raises(SystemExit):
        main(["train", "jscc", "--help"])
    text = capsys.readouterr().out
    for name in JsccTrainConfig.model_fields:
        assert f"--{name.replace('_', '-')}" in text
    assert main(["train", "jscc", "--ratio", "1/7", "--device", "cpu"]) == 2
    assert "--ratio" in capsys.readouterr().err
    assert main(["train", "ddpm", "--steps", "0", "--device", "cpu"]) == 2
    assert "steps: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_train_sft_both_stages_and_resume_at_the_stage_boundary(tmp_path, fake_camvid):
    """`gscsim train sft` on a Swin-JSCC made here; stopped where stage 1 ends, --resume starts stage 2
    with its own optimiser (the checkpoint holds stage 1's) and keeps stage 1's losses."""
    from semantic.pretrained import save_model
    from semantic.receivers.sft import SemanticFineTuning
    from semantic.swinjscc import SwinJSCC

    torch.manual_seed(0)
    save_model(SwinJSCC(16), tmp_path / "codec")
    out = tmp_path / "sft"
    argv = [
        "train", "sft", "--channel", "awgn", "--codec", str(tmp_path / "codec"), "--data-dir", str(fake_camvid),
        "--output", str(out), "--image-size", "16", "--steps1", "3", "--steps2", "0", "--batch-size", "4",
        "--dim", "8", "--prior-channels", "4", "--scales", "1.0", "--checkpoint-every", "3", "--device", "cpu", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    first = training_info(str(out))["losses"]
    assert len(first["stage1"]) == 3 and first["stage2"] == []  # one epoch = ceil(4 frames / 4) = 1 step
    resume = [*argv, "--resume"]
    resume[resume.index("--steps2") + 1] = "2"
    assert main(resume) == 0
    info = training_info(str(out))
    assert info["losses"]["stage1"] == first["stage1"] and len(info["losses"]["stage2"]) == 2
    assert isinstance(load_pretrained(str(out)), SemanticFineTuning)


def test_estimated_csi_variants_train_through_the_links_estimator():
    from sims.train.jscc import training_link

    for variant, estimation in (("tdl", "perfect"), ("tdl-lmmse", "lmmse"), ("tdl-ls", "ls")):
        link = training_link(variant, 512, "cpu")
        assert link.link_config.estimation == estimation and link.pilot_symbols == 0
        assert link.link_config.channel.kind == "tdl" and link.link_config.channel.max_speed_mps == 30.0
