"""Toy scenarios shared by the engine tests (the toy methods live in toy_methods.py)."""

import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def toy_config(out, **extra) -> dict:
    config = {
        "plugins": ["toy_methods"],
        "seeds": [0, 1],
        "device": "cpu",
        "output": str(out),
        "sweep": {"axes": {"x": [0.0, 1.0, 2.0], "link.grid.num_users": [1, 2]}},
        "methods": {"toy": {}, "toy_big": {"kind": "toy", "scale": 10.0}},
    }
    config.update(extra)
    return config


def strip_timing(rows):
    return sorted((tuple((k, v) for k, v in r.items() if k != "seconds") for r in rows))


def write_toy_toml(tmp_path, out, sleep_s):
    path = tmp_path / "slow.toml"
    path.write_text(
        textwrap.dedent(f"""
        plugins = ["toy_methods"]
        seeds = [0, 1, 2]
        output = "{out}"
        [sweep.axes]
        x = [0.0, 1.0, 2.0, 3.0]
        [methods.toy]
        sleep_s = {sleep_s}
        """)
    )
    return path


def early_stop_config(out, early_stop=True):
    return {
        "plugins": ["toy_methods"],
        "seeds": [3],
        "output": str(out),
        "sweep": {"axes": {"snr_db": [0.0, 5.0, 10.0, 15.0, 20.0], "link.grid.num_users": [1, 2]}},
        "methods": {"toy_rate": {"early_stop": early_stop}},
    }
