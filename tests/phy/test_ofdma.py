"""OFDMA grid: orthogonal users, exact placement and extraction, isolation."""

import pytest
import torch

from phy import GridConfig, OFDMALink, make_generator
from phy.ofdma import OFDMAGrid, fixed_assignment

from ..conftest import make_link_config


@pytest.mark.parametrize("pattern", ["contiguous", "interleaved"])
@pytest.mark.parametrize("K,N,L", [(1, 8, 8), (2, 4, 8), (3, 5, 16), (4, 1, 4)])
def test_fixed_assignments_are_orthogonal(pattern, K, N, L):
    a = fixed_assignment(K, N, L, pattern)
    assert a.shape == (K, N)
    assert a.unique().numel() == K * N
    assert int(a.min()) >= 0 and int(a.max()) < L
    if pattern == "interleaved":
        assert torch.equal(a[:, 0], torch.arange(K))


def test_place_then_extract_is_identity_and_leaves_the_rest_empty():
    grid = OFDMAGrid(GridConfig(num_subcarriers=10, num_users=3, subcarriers_per_user=3, num_ofdm_symbols=2))
    g = torch.Generator().manual_seed(0)
    symbols = torch.randn(4, 3, 2, 3, dtype=torch.complex64, generator=g)
    per_batch = torch.stack([torch.randperm(10, generator=g)[:9].reshape(3, 3) for _ in range(4)])
    for assignment in (None, per_batch):
        tx = grid.place(symbols, assignment)
        assert tx.shape == (4, 2, 10)
        assert torch.equal(grid.extract(tx, assignment), symbols)
        assert int((tx != 0).sum()) == symbols.numel()  # one subcarrier is unused


def test_extract_per_user_grids_picks_each_users_own_subcarriers():
    grid = OFDMAGrid(GridConfig(num_subcarriers=8, num_users=2, num_ofdm_symbols=1, allocation="interleaved"))
    per_user = torch.arange(2 * 8).reshape(1, 2, 1, 8)  # user k's grid holds 8k + l
    out = grid.extract(per_user)
    assert out[0, 0, 0].tolist() == [0, 2, 4, 6]
    assert out[0, 1, 0].tolist() == [9, 11, 13, 15]


@pytest.mark.parametrize(
    "bad,message",
    [
        (torch.tensor([[0, 1], [1, 2]]), "two users"),
        (torch.tensor([[0, 1], [2, 8]]), "lie in"),
        (torch.tensor([[0, 1, 2]]), "shape"),
        (torch.tensor([[0.0, 1.0], [2.0, 3.0]]), "dtype"),
    ],
)
def test_bad_assignments_are_refused(bad, message):
    grid = OFDMAGrid(GridConfig(num_subcarriers=8, num_users=2, subcarriers_per_user=2))
    with pytest.raises(ValueError, match=message):
        grid.check_assignment(bad)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh_iid", "tdl"])
def test_users_never_see_each_others_data(channel):
    link = OFDMALink(make_link_config("16qam", channel, num_subcarriers=32, num_users=4))
    bits = link.random_bits(8, make_generator(1))
    before = link(bits, 40.0, make_generator(2))
    changed = bits.clone()
    changed[:, 2] = 1 - changed[:, 2]  # flip every bit of user 2
    after = link(changed, 40.0, make_generator(2))
    others = [0, 1, 3]
    # Same channel and noise draws: what users 0, 1, 3 receive is bit-for-bit unchanged.
    assert torch.equal(before.x_hat[:, others], after.x_hat[:, others])
    assert torch.equal(before.bits_hat[:, others], after.bits_hat[:, others])
    assert not torch.equal(before.x_hat[:, 2], after.x_hat[:, 2])
    if channel == "awgn":  # at 40 dB every user decodes its own bits
        assert torch.equal(after.bits_hat, changed)


def test_link_with_per_batch_assignment_delivers_each_users_bits():
    link = OFDMALink(make_link_config("qpsk", "awgn", num_subcarriers=16, num_users=2))
    g = make_generator(3)
    assignment = torch.stack([torch.randperm(16, generator=g)[:16].reshape(2, 8) for _ in range(5)])
    bits = link.random_bits(5, g)
    out = link(bits, 50.0, g, assignment=assignment)
    assert torch.equal(out.bits_hat, bits)
    with pytest.raises(ValueError, match="two users"):
        link(bits, 50.0, g, assignment=torch.zeros(2, 8, dtype=torch.int64))
