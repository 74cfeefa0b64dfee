"""The rateless multicast: incremental redundancy over one 5G LDPC mother code."""

import numpy as np
import pytest
import torch

from phy.incremental import IncrementalRedundancy
from phy.link_abstraction import load_ir_table


@pytest.fixture(scope="module")
def ir():
    return IncrementalRedundancy(k=512, modulation="qpsk")


def test_every_user_above_the_floor_gets_the_exact_payload_sooner_with_more_snr(ir):
    g = torch.Generator().manual_seed(0)
    payload = torch.randint(0, 2, (2, ir.payload_bits), generator=g).float()
    snr = [-14.0, -4.0, 0.0, 4.0, 10.0]
    rx = ir(payload, snr, g)
    assert rx.decoded.tolist() == [False, True, True, True, True]
    assert torch.equal(rx.payload[1:], payload.expand(4, *payload.shape))
    steps = rx.steps[1:].tolist()
    assert steps == sorted(steps, reverse=True) and steps[0] > 3 * steps[-1]
    assert rx.steps[0] == ir.steps + 1
    # High SNR: the first attempt that can work, at a rate just below one.
    assert ir.rate_after(int(rx.steps[-1])) > 0.75


def test_a_bracket_gives_the_same_steps_with_fewer_decodes(ir):
    g = torch.Generator().manual_seed(1)
    payload = torch.randint(0, 2, (3, ir.payload_bits), generator=g).float()
    snr = torch.tensor([-3.0, 1.0, 6.0])
    llr = ir.llrs(payload, snr, g)
    count = {"n": 0}
    decode = ir._decodes

    def counting(llr_, steps):
        count["n"] += llr_.shape[0]
        return decode(llr_, steps)

    ir._decodes = counting
    try:
        plain = ir.receive(llr)
        n_plain, count["n"] = count["n"], 0
        guided = ir.receive(llr, (plain.steps - 2, plain.steps + 2))
        n_guided, count["n"] = count["n"], 0
        wrong = ir.receive(llr, (torch.full((3,), 5), torch.full((3,), 6)))  # a bad guess widens, still right
    finally:
        ir._decodes = decode
    agree = (guided.block_steps == plain.block_steps).float().mean()
    assert agree >= 0.85 and (guided.block_steps - plain.block_steps).abs().max() <= 4
    assert (wrong.block_steps - plain.block_steps).abs().max() <= 4
    assert n_guided < n_plain


def test_the_measured_curve_predicts_a_fresh_run():
    table = load_ir_table()
    ir = IncrementalRedundancy(table.k, "qpsk", table.increment_symbols, table.max_rounds)
    g = torch.Generator().manual_seed(7)
    payload = torch.randint(0, 2, (16, ir.payload_bits), generator=g).float()
    steps = ir(payload, [0.0], g).block_steps.flatten().double()
    expected = table.curves["qpsk"].expected_steps(np.array([0.0]))[0]
    assert abs(steps.mean().item() - expected) < 4 * steps.std().item() / np.sqrt(steps.numel()) + 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="modulation"):
        IncrementalRedundancy(modulation="8psk")
    with pytest.raises(ValueError, match="k must"):
        IncrementalRedundancy(k=8000)
    with pytest.raises(ValueError, match="increment_symbols"):
        IncrementalRedundancy(increment_symbols=0)
    with pytest.raises(ValueError, match="payload must be"):
        IncrementalRedundancy()(torch.zeros(1, 10), [0.0], torch.Generator())
