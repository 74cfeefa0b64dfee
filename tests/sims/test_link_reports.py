"""The reports of the link abstraction and of the intent_link study."""

import csv

from sims.reports import intent_link, mcs_table


def test_mcs_table_prints_thresholds_ir_and_overhead(capsys):
    mcs_table.main(["--print-only"])
    out = capsys.readouterr().out
    assert "| qpsk-312/1536 | 0.406 | -4.88 |" in out
    assert "| 256qam, 8 |" in out and "IR overhead vs per-user MCS" in out


def _rows(tmp_path):
    rows = []
    for K in (3, 5):
        for P in (100.0, 200.0):
            for method, lat, shannon in [("proposed_a", 4.0, 2.0), ("proposed_b", 2.0, 2.0), ("ngm_b", 2.5, 2.4),
                                         ("fgm_b", 1.8, 1.7), ("proposed_b_worst", 3.0, 2.0), ("ngm_b_worst", 4.0, 2.4)]:  # fmt: skip
                rows.append({"method": method, "users": K, "power_mw": P, "latency_ms": lat, "latency_ms_n": K,
                             "shannon_ms": shannon, "shannon_ms_n": K, "latency_gap": lat / 2, "map_gap": 1.0,
                             "class_gap": 1.1, "streams_lost": 0.01})  # fmt: skip
    path = tmp_path / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_intent_link_tables_and_figure(tmp_path, capsys):
    path = _rows(tmp_path)
    figure = tmp_path / "fig.png"
    intent_link.main([str(path), "--figure", str(figure)])
    out = capsys.readouterr().out
    # K = 5 at 100 mW: (a) 1 - 4 / 2.5 = -60%, (b) 1 - 2 / 2.5 = +20%, Shannon 1 - 2 / 2.4, paper 16.7%
    assert "| 5 | 100 | 4.000 | 2.000 | 2.500 | 1.800 | -60.0% | +20.0% | +16.7% | +16.7% | 3.000 | 4.000 | +25.0% |" in out
    assert "| proposed_a | 2.000 | 1.000 | 1.100 | 1.0% |" in out
    assert figure.exists() and figure.stat().st_size > 10_000
