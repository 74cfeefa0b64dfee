"""The Ray backend gives the local backend's rows (sims.backends)."""

import json

import pytest

from sims.engine import run_sweep
from sims.scenario import scenario_from_dict

from .toy_sweeps import (
    early_stop_config,
    strip_timing,
    toy_config,
)


@pytest.fixture(scope="module")
def ray_two_workers():
    ray = pytest.importorskip("ray", reason="the Ray backend is the optional extra gscsim[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_backend_gives_the_local_rows(tmp_path, ray_two_workers):
    local = run_sweep(scenario_from_dict(toy_config(tmp_path / "local")), quiet=True)
    remote = run_sweep(scenario_from_dict(toy_config(tmp_path / "ray")), quiet=True, backend="ray")
    assert strip_timing(remote) == strip_timing(local)
    info = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert info["sessions"][0]["backend"] == "ray"
    # Early stopping releases rows in x order, so Ray skips the same rows.
    stop_local = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "sl")), quiet=True)
    stop_ray = run_sweep(scenario_from_dict(early_stop_config(tmp_path / "sr")), quiet=True, backend="ray")
    assert strip_timing(stop_ray) == strip_timing(stop_local)


def test_ray_backend_gives_the_local_ber_rows(tmp_path, ray_two_workers):
    # The real method: coded 16-QAM over i.i.d. Rayleigh, two demappers as an override axis.
    def config(out):
        return {
            "seeds": [0, 1], "output": str(out),
            "link": {"code": {"k": 512, "n": 1024}, "channel": {"kind": "rayleigh_iid"},
                     "grid": {"num_subcarriers": 64, "num_ofdm_symbols": 8, "num_users": 2}},
            "sweep": {"axes": {"ebno_db": [2.0, 6.0, 10.0], "link.demapping": ["app", "maxlog"]}},
            "methods": {"ber": {"batch_size": 16, "max_batches": 2}},
        }  # fmt: skip

    local = run_sweep(scenario_from_dict(config(tmp_path / "local")), quiet=True)
    remote = run_sweep(scenario_from_dict(config(tmp_path / "ray")), quiet=True, backend="ray")
    assert len(local) == 12 and strip_timing(remote) == strip_timing(local)
