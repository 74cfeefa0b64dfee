"""`gscsim report estimation_study`: the losses from perfect CSI, their intervals and the figure."""

import math

import pytest

from sims.plotting import pooled_mean
from sims.reports import estimation_study as report

DROP = {"perfect": 0.0, "lmmse": 0.5, "ls": 2.0}  # PSNR lost per estimator, method "a"


def rows() -> list[dict]:
    """Two methods, two SNRs, three estimators, two seeds of 8 images each; method b loses nothing."""
    out = []
    for method in ("a", "b"):
        for snr in (0.0, 10.0):
            for estimation, drop in DROP.items():
                for seed in (0, 1):
                    psnr = 20 + snr / 2 - (drop if method == "a" else 0.0) + (0.1 if seed else -0.1)
                    out.append({
                        "method": method, "snr_db": str(snr), "link.estimation": estimation, "seed": str(seed),
                        "psnr": str(psnr), "psnr_sd": "1.0", "psnr_n": "8",
                        "ssim": "0.5", "ssim_sd": "0.1", "ssim_n": "8", "miou": "", "miou_sd": "", "miou_n": "",
                    })  # fmt: skip
    return out


def test_pooled_mean_and_variance_of_the_mean_over_seeds():
    mean, var, n = pooled_mean([{"psnr": "1", "psnr_sd": "1", "psnr_n": "4"}, {"psnr": "3", "psnr_sd": "1", "psnr_n": "4"}], "psnr")
    # 8 images: within-seed SS 2 * 3 * 1, between-seed SS 8 * 1 -> sample variance 14 / 7 = 2
    assert (mean, n) == (2.0, 8) and var == pytest.approx(2.0 / 8)


def test_losses_are_perfect_minus_estimated_with_the_interval_of_a_difference():
    table = report.cells(rows())["psnr"]
    value, half = report.loss(table, "a", 10.0, "ls")
    assert value == pytest.approx(2.0)
    _, var, n = table[("a", 10.0, "perfect")]
    assert n == 16 and half == pytest.approx(1.959964 * math.sqrt(2 * var), rel=1e-4)
    assert report.loss(table, "b", 0.0, "lmmse")[0] == pytest.approx(0.0, abs=1e-12)


def test_summary_and_detail_tables():
    text = report.summary(rows())
    line = next(x for x in text.splitlines() if x.startswith("| a |"))
    assert line.split(" | ")[1:3] == ["+0.50", "+2.00"]  # PSNR: LMMSE, LS
    assert "mIoU" not in text  # no values, no columns
    detail = report.detail(rows(), "psnr").splitlines()
    assert detail[0] == "| PSNR (dB) | CSI | 0 dB | 10 dB |"
    assert detail[2].startswith("| a | perfect | 20.00 | 25.00 |") and "+2.00 ±" in detail[4]


def test_figure_and_a_results_file_without_the_axes(tmp_path):
    path = report.figure(rows(), tmp_path / "f.png")
    assert path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no column 'link.estimation'"):
        report.summary([{"method": "a", "snr_db": "0"}])


@pytest.mark.camvid
def test_the_study_on_camvid_orders_the_estimators(camvid_dir, tmp_path, monkeypatch):
    """The shipped study at one SNR on 8 CamVid frames: LS costs DeepJSCC and the null-space receiver
    well over a dB of PSNR at 0 dB (the study: ~4-5 dB), LMMSE far less, and the report reads it."""
    from sims.engine import run_sweep
    from sims.scenario import load_scenario, scenario_from_dict

    monkeypatch.setenv("GSCSIM_DATA_DIR", str(camvid_dir))
    data = load_scenario("sims/configs/estimation_camvid.toml").config.model_dump(mode="json")
    data.update(output=str(tmp_path / "est"), seeds=[0])
    data["source"]["num_images"] = 8
    data["sweep"]["axes"]["snr_db"] = [0.0]
    data["methods"] = {k: data["methods"][k] for k in ("deepjscc_perfect_csi", "nullspace")}
    data["methods"]["nullspace"]["steps"] = 20
    rows = run_sweep(scenario_from_dict(data), quiet=True)
    assert len(rows) == 2 * 3
    table = report.cells(rows)["psnr"]
    for method in ("deepjscc_perfect_csi", "nullspace"):
        ls, lmmse = report.loss(table, method, 0.0, "ls")[0], report.loss(table, method, 0.0, "lmmse")[0]
        assert ls > 1.5 and lmmse < ls - 1.0, (method, lmmse, ls)
    assert "deepjscc_perfect_csi" in report.summary(rows)


def test_calibration_shows_ls_error_is_heavier_tailed_than_it_is_told():
    """LMMSE's told noise variance describes its error (z = |e|^2 / no_eff ~ Exp(1)); LS's ratio
    error h / h_hat puts far more entries beyond 9 told variances than the e^-9 of a Gaussian."""
    lines = report.calibration(snrs=(10.0,), batch=8).splitlines()[2:]
    share = {line.split(" | ")[0].strip("| "): float(line.split(" | ")[3]) for line in lines}
    mean_z = {line.split(" | ")[0].strip("| "): float(line.split(" | ")[2]) for line in lines}
    assert set(share) == {"perfect", "lmmse", "ls"}
    assert mean_z["perfect"] == pytest.approx(1.0, abs=0.1) and mean_z["lmmse"] == pytest.approx(1.0, abs=0.1)
    assert share["perfect"] < 0.002 and share["lmmse"] < 0.002 and share["ls"] > 0.002
