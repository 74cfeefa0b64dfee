"""GSC's receiver and the MU-GSC server (seed 002 Sec. III-E): the same images as one request at
a time, the cache, the pipeline, batching across users."""

import pytest
import torch

from semantic.gsc import GscReceiver, MultiUserServer, Request
from semantic.receivers.sft import SemanticFineTuning
from semantic.swinjscc import SwinJSCC


@pytest.fixture(scope="module")
def receiver():
    torch.manual_seed(0)
    codec = SwinJSCC(16).eval()
    sft = SemanticFineTuning(dim=8, blocks=(1, 1, 1), heads=(1, 2, 2), prior_channels=4, cpen_width=16).eval()
    return GscReceiver(codec, sft, 16, 16)


def requests(receiver, count, users=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = receiver.codec.num_symbols(16, 16)
    symbols = torch.complex(torch.randn(count, k, generator=g), torch.randn(count, k, generator=g))
    z_T = torch.randn(count, receiver.prior_dim, generator=g)
    return [Request(i % users, symbols[i], z_T[i]) for i in range(count)]


def one_at_a_time(receiver, reqs):
    return [receiver(r.symbols[None], r.z_T[None])[0] for r in reqs]


@pytest.mark.parametrize("pipeline", [True, False])
def test_unbatched_server_returns_exactly_the_single_user_images(receiver, pipeline):
    reqs = requests(receiver, 7)
    server = MultiUserServer(receiver, max_batch=1, pipeline=pipeline)
    got = server.serve(reqs)
    for a, b in zip(got, one_at_a_time(receiver, reqs)):
        assert torch.equal(a, b)
    assert server.stats.batches == 7 and server.stats.cache_hits == 0


def test_batching_across_users_changes_only_float_rounding(receiver):
    reqs = requests(receiver, 9)
    server = MultiUserServer(receiver, max_batch=4, pipeline=True)
    got = torch.stack(server.serve(reqs))
    assert server.stats.batch_sizes == [4, 4, 1]
    want = torch.stack(one_at_a_time(receiver, reqs))
    assert (got - want).abs().max() < 1e-3  # well under one 8-bit level (2/255)


def test_repeated_requests_hit_the_cache_and_lru_evicts(receiver):
    reqs = requests(receiver, 3)
    server = MultiUserServer(receiver, max_batch=1, cache_size=2)
    first = server.serve(reqs)
    again = server.serve([reqs[2], reqs[2], Request(1, reqs[2].symbols.clone(), reqs[2].z_T.clone())])
    assert server.stats.cache_hits == 3 and server.stats.batches == 0
    assert all(torch.equal(a, first[2]) for a in again)
    server.serve([reqs[0]])  # evicted by the cache size of 2: computed again
    assert server.stats.cache_hits == 0 and server.stats.batches == 1
    # A different Z_T is a different request.
    server.serve([Request(0, reqs[1].symbols, reqs[1].z_T + 1)])
    assert server.stats.cache_hits == 0


def test_ngf_receiver_is_the_decoder_alone(receiver):
    ngf = GscReceiver(receiver.codec, None, 16, 16)
    reqs = requests(ngf, 2)
    assert ngf.prior_dim == 0
    out = MultiUserServer(ngf, max_batch=1).serve(reqs)
    assert torch.equal(out[0], receiver.decode(reqs[0].symbols[None])[0])


def test_bad_server_settings():
    with pytest.raises(ValueError, match="max_batch"):
        MultiUserServer(None, max_batch=0)
    with pytest.raises(ValueError, match="cache_size"):
        MultiUserServer(None, cache_size=-1)
