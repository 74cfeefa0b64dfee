"""The null-space study reports: per-metric tables, Fig. 9 beside the paper, JSCC loss curves."""

import csv

import pytest

from semantic.jscc import DeepJSCC
from semantic.pretrained import save_model
from sims.reports import jscc_training, nullspace_lowest, nullspace_tables


def rows(values: dict) -> list[dict]:
    """results.csv rows from {(method, nm_ratio): ssim}: psnr = 40 ssim, 2 images each."""
    out = []
    for (method, nm), ssim in values.items():
        out.append({"method": method, "nm_ratio": str(nm), "n_subcarriers": str(round(256 * nm)), "m_entries": "256",
                    "ssim": str(ssim), "ssim_n": "2", "psnr": str(40 * ssim), "psnr_n": "2", "fd_seg": str(1 - ssim)})  # fmt: skip
    return out


def test_tables_name_the_best_method_per_point():
    data = rows({("nullspace", 0.4): 0.8, ("jscc", 0.4): 0.6, ("nullspace", 0.2): 0.5, ("jscc", 0.2): 0.7})
    text = nullspace_tables.tables(data)
    assert "| nullspace | 0.800 | 0.500 |" in text  # SSIM, N/M 0.4 then 0.2
    assert "| jscc | 24.000 | 28.000 |" in text  # PSNR
    assert "N/M 0.40: nullspace (3 of 3)" in text and "N/M 0.20: jscc (3 of 3)" in text  # fd_seg: lower wins


def test_means_weight_rows_by_their_images():
    data = rows({("a", 1.0): 0.5}) + rows({("a", 1.0): 0.8})
    data[1]["ssim_n"] = "6"
    table = nullspace_tables.means(data)["ssim"]
    (cell,) = table.values()
    assert cell["a"] == pytest.approx((0.5 * 2 + 0.8 * 6) / 8)


def test_fig9_table_sets_the_paper_beside_ours(tmp_path, capsys):
    data = rows({("nullspace", nm): ssim for nm, ssim in [(0.7, 0.9), (0.4, 0.75), (0.2, 0.6), (0.1, 0.3)]})
    path = tmp_path / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    nullspace_lowest.main([str(path)])
    text = capsys.readouterr().out
    assert "| 0.40 | 102 of 256 | 0.750 | 0.8 | +0.150 |" in text
    assert "| 0.20 | 51 of 256 | 0.600 | 0.66 | +0.150 |" in text
    assert "| 0.10 | 26 of 256 | 0.300 | - | +0.300 |" in text
    with pytest.raises(ValueError, match="--method 'ddnm'"):
        nullspace_lowest.table(data, "ddnm")


def test_jscc_loss_curve_follows_a_fine_tune_back_to_its_start(tmp_path):
    first = {"train": {"snr_db": [0, 20], "steps": 200}, "losses": [[100, 0.02], [200, 0.01]]}
    tuned = {"train": {"snr_db": [-10, 20], "steps": 100}, "losses": [[50, 0.012], [100, 0.011]], "init_training": first}
    assert jscc_training.curve(tuned) == [(100, 0.02, "0..20 dB"), (200, 0.01, "0..20 dB"),
                                          (250, 0.012, "-10..20 dB"), (300, 0.011, "-10..20 dB")]  # fmt: skip
    save_model(DeepJSCC(8), tmp_path / "m", tuned)
    row = jscc_training.summary(str(tmp_path / "m"))
    assert row.startswith(f"| {tmp_path / 'm'} | 300 | 0..20 dB then -10..20 dB |")


def test_compact_table_puts_every_metric_in_one_cell():
    text = nullspace_tables.compact(rows({("nullspace", 0.4): 0.8, ("jscc", 0.4): 0.6}), ("psnr", "ssim"))
    assert text.splitlines()[0] == "cells: psnr / ssim"
    assert "| nullspace | 32.0 / 0.800 |" in text and "| jscc | 24.0 / 0.600 |" in text
