"""The numba 5G LDPC decoder against Sionna's: the same hard decisions, the same BLER, layered and early stop."""

import pytest
import torch
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

from phy import CodeConfig
from phy.coding import ChannelCode
from phy.ldpc_numba import NumbaLDPC5GDecoder


def awgn_llrs(encoder: LDPC5GEncoder, codewords: int, ebno_db: float, seed: int = 0):
    """(information bits (B, k), BPSK-over-AWGN LLRs log P(1)/P(0) (B, n)) of random codewords."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randint(0, 2, (codewords, encoder.k), generator=g).float()
    rate = encoder.k / encoder.n
    sigma = (1 / (2 * rate * 10 ** (ebno_db / 10))) ** 0.5
    y = 1 - 2 * encoder(u) + sigma * torch.randn(codewords, encoder.n, generator=g)
    return u, -2 * y / sigma**2


CODES = [  # (k, n, bits per symbol, Eb/N0): the link's default, the stream link's 1536, a short and a BG1 code
    (512, 1024, 4, 2.0),
    (1000, 1536, 2, 3.0),
    (40, 120, None, 3.0),
    (600, 804, 6, 3.5),
]


@pytest.mark.parametrize("k,n,m,ebno_db", CODES)
@pytest.mark.parametrize("rule", ["boxplus-phi", "boxplus", "minsum", "offset-minsum"])
def test_flooding_decisions_equal_sionnas(k, n, m, ebno_db, rule):
    encoder = LDPC5GEncoder(k, n, num_bits_per_symbol=m)
    u, llr = awgn_llrs(encoder, 200, ebno_db)
    ours = NumbaLDPC5GDecoder(encoder, rule, num_iter=20)(llr)
    theirs = LDPC5GDecoder(encoder, cn_update=rule, num_iter=20, hard_out=True)(llr)
    same = (ours == theirs).all(1)
    decoded = (theirs == u).all(1)
    assert decoded.float().mean() > 0.5 and same[decoded].all()  # every word Sionna decodes, we decode
    # Words neither decodes can differ: failures are chaotic, and float rounding in another order
    # (torch's vectorised sums; one log in phi) moves them. Offset min-sum agrees fully.
    assert same.float().mean() >= (1.0 if rule == "offset-minsum" else 0.9)


@pytest.mark.slow
@pytest.mark.parametrize("ebno_db", [1.0, 1.5, 2.0])
def test_bler_equals_sionnas_within_ci(ebno_db):
    """Independent draws for the two decoders: their BLERs differ by less than 3 standard errors."""
    encoder, n = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4), 1000
    u, llr = awgn_llrs(encoder, n, ebno_db, seed=1)
    v, llr2 = awgn_llrs(encoder, n, ebno_db, seed=2)
    ours = (NumbaLDPC5GDecoder(encoder, num_iter=20)(llr) != u).any(1).float().mean().item()
    theirs = (LDPC5GDecoder(encoder, num_iter=20, hard_out=True)(llr2) != v).any(1).float().mean().item()
    pooled = (ours + theirs) / 2
    assert 0 < pooled < 1
    assert abs(ours - theirs) <= 3 * (2 * pooled * (1 - pooled) / n) ** 0.5


def test_layered_reaches_floodings_bler_in_fewer_iterations():
    encoder = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4)
    u, llr = awgn_llrs(encoder, 600, 1.5)
    bler = lambda bits: (bits != u).any(1).float().mean().item()  # noqa: E731
    flooding = bler(LDPC5GDecoder(encoder, num_iter=20, hard_out=True)(llr))
    layered = NumbaLDPC5GDecoder(encoder, num_iter=12, schedule="layered")(llr)
    assert bler(layered) <= flooding
    # and it is Sionna's layered schedule, decision for decision
    sionna_layered = LDPC5GDecoder(encoder, num_iter=12, cn_schedule="layered", hard_out=True)(llr)
    decoded = (sionna_layered == u).all(1)
    assert (layered == sionna_layered).all(1)[decoded].all()
    assert (layered == sionna_layered).all(1).float().mean() >= 0.97


def test_early_stop_saves_iterations_and_keeps_decoded_words():
    encoder = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4)
    u, llr = awgn_llrs(encoder, 200, 3.0)
    full = NumbaLDPC5GDecoder(encoder, num_iter=20)
    early = NumbaLDPC5GDecoder(encoder, num_iter=20, early_stop=True)
    a, b = full(llr), early(llr)
    ok = (a == u).all(1)
    assert ok.float().mean() > 0.95
    assert (b[ok] == a[ok]).all()
    assert early.last_iterations.mean() < 10 and full.last_iterations.min() == 20


def test_channel_code_picks_the_decoder_and_refuses_bad_settings():
    assert isinstance(ChannelCode(CodeConfig(k=512, n=1024), 4).decoder, NumbaLDPC5GDecoder)
    assert isinstance(ChannelCode(CodeConfig(k=512, n=1024, decoder="sionna"), 4).decoder, LDPC5GDecoder)
    with pytest.raises(ValueError, match="early_stop needs decoder = 'numba'"):
        CodeConfig(k=512, n=1024, decoder="sionna", early_stop=True)
    with pytest.raises(ValueError, match="cn_update"):
        NumbaLDPC5GDecoder(LDPC5GEncoder(512, 1024), "sum-product")
    with pytest.raises(ValueError, match="compile applies to Sionna's decoder"):
        CodeConfig(k=512, n=1024, decoder="numba", compile=True)
    with pytest.raises(ValueError, match="n = 1024"):
        NumbaLDPC5GDecoder(LDPC5GEncoder(512, 1024))(torch.zeros(3, 1000))


@pytest.mark.cuda
def test_compiled_sionna_decoder_on_cuda_has_eagers_bler():
    """code.compile: torch.compile of Sionna's decoder; its bits may differ (float reassociation),
    its BLER on the same LLRs may not, beyond 3 standard errors of a paired difference."""
    from phy.coding import build_decoder

    encoder = LDPC5GEncoder(512, 1024, num_bits_per_symbol=4, device="cuda:0")
    u, llr = awgn_llrs(LDPC5GEncoder(512, 1024, num_bits_per_symbol=4), 4000, 1.5, seed=3)
    u, llr = u.cuda(), llr.cuda()
    eager = build_decoder(encoder, CodeConfig(k=512, n=1024, decoder="sionna"), "cuda:0")
    compiled = build_decoder(encoder, CodeConfig(k=512, n=1024, decoder="sionna", compile=True), "cuda:0")
    errors_eager, errors_compiled = (eager(llr) != u).any(1).float(), (compiled(llr) != u).any(1).float()
    difference = errors_compiled - errors_eager
    assert 0.01 < errors_eager.mean() < 0.9
    assert abs(difference.mean()) <= 3 * difference.std() / len(difference) ** 0.5 + 1e-9
