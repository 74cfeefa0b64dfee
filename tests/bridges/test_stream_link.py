"""Coded streams over the digital path: framing, link adaptation, air time, lost streams."""

import math

import numpy as np
import pytest
import torch

from bridges.framing import STREAM_FRAME
from bridges.streams import MCS_TABLE, StreamLink, frame_bits
from phy.link_abstraction import load_table
from semantic.codecs import streams


def scene(seed=0, S=64):
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, 12, (S // 16, S // 16), generator=g).repeat_interleave(16, 0).repeat_interleave(16, 1)
    image = (torch.rand(3, S // 4, S // 4, generator=g) * 2 - 1).repeat_interleave(4, 1).repeat_interleave(4, 2)
    return image, lab


@pytest.fixture(scope="module")
def link():
    return StreamLink(1e6, backoff_db=3.0, adaptation="backoff")


def test_high_snr_delivers_every_stream_exactly(link):
    image, lab = scene()
    region = streams.code_class_region(image, lab == int(lab[0, 0]), 2.0, 409.6)
    rle = streams.code_map(lab, 12, "rle")
    whole = streams.code_class_image(image, 1.0, 4096)
    g = torch.Generator().manual_seed(1)
    for s in (region, rle, whole):
        d = link.send(s, np.array([30.0, 25.0]), g)
        assert d.delivered.all()
        for r in d.received:
            assert r.quality == s.quality and r.region == s.region and r.bits == s.bits
            assert np.array_equal(np.asarray(r.payload), np.asarray(s.payload)) if isinstance(s.payload, np.ndarray) else r.payload == s.payload
        assert d.frame_bits == frame_bits(s) == STREAM_FRAME.header_bits + s.source_bits
    assert torch.equal(streams.decode_map(link.send(rle, np.array([30.0]), g).received[0], 12), lab)


def test_air_time_is_codewords_over_the_band(link):
    _, lab = scene(2)
    s = streams.code_map(lab, 12, "rle")
    d = link.send(s, np.array([30.0, 8.0]), torch.Generator().manual_seed(0))
    for u, index in enumerate(link.choose(np.array([30.0, 8.0]))):
        mcs = MCS_TABLE[index]
        codewords = math.ceil((d.frame_bits + 24) / mcs.k)
        assert d.airtime_s[u] == pytest.approx(codewords * mcs.n / mcs.bits_per_symbol / 1e6)
        assert d.efficiency[u] == mcs.efficiency
    assert d.airtime_s[1] > d.airtime_s[0]


def test_link_adaptation_stays_below_capacity_with_the_backoff(link):
    snr = np.linspace(-2, 30, 33)
    chosen = link.choose(snr)
    effs = np.array([m.efficiency for m in MCS_TABLE])
    target = np.log2(1 + 10 ** ((snr - 3.0) / 10))
    fits = effs[chosen] <= target
    assert fits[target >= effs[0]].all()
    above = np.minimum(chosen + 1, len(MCS_TABLE) - 1)
    assert ((effs[above] > target) | (chosen == len(MCS_TABLE) - 1)).all()  # the highest that fits
    assert np.all(np.diff(chosen) >= 0)
    worst = StreamLink(1e6, policy="worst", adaptation="backoff").choose(np.array([25.0, 5.0, 12.0]))
    assert len(set(worst.tolist())) == 1 and worst[0] == link.choose(np.array([5.0]))[0]


def test_a_stream_below_the_lowest_mcs_is_lost_and_reported(link):
    image, lab = scene(3)
    s = streams.code_class_region(image, lab == int(lab[0, 0]), 2.0, 409.6)
    d = link.send(s, np.array([-8.0, 30.0]), torch.Generator().manual_seed(0))
    assert d.delivered.tolist() == [False, True]
    assert d.received[0] is None and d.received[1] is not None


def test_threshold_adaptation_takes_the_highest_mcs_whose_measured_threshold_holds():
    link = StreamLink(1e6, target_bler=0.01)
    thr = load_table("awgn").thresholds_db(0.01)
    snr = np.linspace(-6, 30, 73)
    chosen = link.choose(snr)
    met = snr >= thr[chosen]
    assert met[snr >= thr[0]].all()  # never an MCS the SNR does not meet (above the floor)
    higher = np.minimum(chosen + 1, len(MCS_TABLE) - 1)
    assert ((snr < thr[higher]) | (chosen == len(MCS_TABLE) - 1)).all()  # and the highest that it meets
    assert chosen[snr < thr[0]].tolist() == [0] * int((snr < thr[0]).sum())  # the floor


def test_rateless_multicast_delivers_the_stream_and_each_user_waits_by_its_own_snr():
    image, lab = scene(4)
    s = streams.code_class_region(image, lab == int(lab[0, 0]), 2.0, 409.6)
    link = StreamLink(1e6, policy="rateless")
    snr = np.array([-12.0, -3.0, 2.0, 8.0, 20.0])
    d = link.send(s, snr, torch.Generator().manual_seed(0), modulation="qpsk")
    assert d.delivered.tolist() == [False, True, True, True, True]  # -12 dB is below QPSK's IR floor
    for r in d.received[1:]:
        assert r.bits == s.bits and np.array_equal(np.asarray(r.payload), np.asarray(s.payload))
    assert np.all(np.diff(d.airtime_s[1:]) <= 0) and d.airtime_s[1] > 2 * d.airtime_s[-1]
    assert d.airtime_s[0] == d.airtime_s.max()  # the user who never decodes heard every step
    assert d.modulation == "qpsk" and d.steps[0] > d.steps[1]
    # The modulation rule: QPSK for a weak group, a higher order for a strong one.
    assert link.choose_modulation(d.frame_bits, np.array([-3.0, 0.0])) == "qpsk"
    assert link.choose_modulation(d.frame_bits, np.array([22.0, 25.0])) in ("64qam", "256qam")


def test_a_planned_mcs_overrides_the_adaptation():
    image, lab = scene(5)
    s = streams.code_map(lab, 12, "rle")
    link = StreamLink(1e6, policy="worst")
    d = link.send(s, np.array([30.0, 30.0]), torch.Generator().manual_seed(0), mcs=2)
    assert d.delivered.all() and (d.efficiency == MCS_TABLE[2].efficiency).all()
    with pytest.raises(ValueError, match="mcs must index"):
        link.send(s, np.array([30.0]), torch.Generator(), mcs=len(MCS_TABLE))


def test_bad_arguments():
    with pytest.raises(ValueError, match="bandwidth_hz"):
        StreamLink(0.0)
    with pytest.raises(ValueError, match="policy"):
        StreamLink(1e6, policy="best")
    with pytest.raises(ValueError, match="adaptation"):
        StreamLink(1e6, adaptation="oracle")
    with pytest.raises(ValueError, match="target_bler"):
        StreamLink(1e6, target_bler=1.5)
