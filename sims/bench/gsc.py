"""GSC vs MU-GSC (seed 002, Table I): images per second, the MU-GSC / GSC time ratio, the SFT's share.

Workload: K users (default 3) each with ``--per-user`` requests: CamVid-like sample images
through the shipped Swin-JSCC and an AWGN OFDMA link at 10 dB (the received symbols), and a
Z_T per request. GSC serves them one at a time (the single-user receiver of Fig. 4a-b);
MU-GSC (:class:`semantic.gsc.MultiUserServer`) serves them together, measured with each
mechanism alone and all together: batching across users, the decode/refine pipeline, and the
cache (on a second workload in which ``--repeat`` of the requests repeat an earlier one, e.g.
retransmissions of a frame; over a noisy link distinct receptions never repeat). Every
variant's images are checked against GSC's (max abs difference printed). All timed in this
run; the paper's Table I: GSC 15.66 s, MU-GSC 8.87 s per image (ratio 0.57, RTX 4060).

Run: ``gscsim bench gsc [--device auto] [--users 3] [--per-user 8] [--repeat 0.25]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bridges.jscc import SymbolLink
from phy import CodeConfig, GridConfig, LinkConfig, channel_config, make_generator
from phy.rng import resolve_device
from semantic.data import sample_images
from semantic.gsc import GscReceiver, MultiUserServer, Request
from semantic.jscc import load_jscc
from semantic.pretrained import load_pretrained
from semantic.receivers.sft import SemanticFineTuning

#: Takes `--device` (`gscsim bench all --device cuda` passes it on).
USES_DEVICE = True


def sync(device: str) -> None:
    """Wait for the device's queued work (timings need it on CUDA)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def workload(receiver: GscReceiver, users: int, per_user: int, repeat: float, device: str) -> list[Request]:
    """users * per_user requests, user-interleaved in arrival order; a ``repeat`` fraction copies earlier ones."""
    count = users * per_user
    size = receiver.height
    codec = receiver.codec
    k = codec.num_symbols(size, size)
    link = SymbolLink(
        LinkConfig(
            grid=GridConfig(num_users=users, num_ofdm_symbols=16), channel=channel_config("awgn"),
            code=CodeConfig(k=512, n=1024),  # analog symbols: the code only has to fit the grid
        ), k, 0, device,
    )  # fmt: skip
    g = make_generator(0, device)
    images = sample_images(size, count).to(device).reshape(per_user, users, 3, size, size)
    with torch.no_grad():
        z = codec.encode(images.flatten(0, 1)).reshape(per_user, users, k)
        received = link(z, 10.0, g)[0].flatten(0, 1)
    z_T = torch.randn(count, max(receiver.prior_dim, 0), generator=g, device=device)
    requests = [Request(i % users, received[i], z_T[i]) for i in range(count)]
    repeats = np.random.default_rng(1).random(count) < repeat
    for i in np.flatnonzero(repeats):
        if i > 0:
            j = int(np.random.default_rng(int(i)).integers(i))
            requests[i] = Request(requests[i].user, requests[j].symbols, requests[j].z_T)
    return requests


def main(argv: list[str] | None = None) -> None:
    """Command line: time GSC and MU-GSC variants on the same requests; print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--codec", default="swinjscc-awgn-1_6")
    parser.add_argument("--refiner", default="sft-awgn-1_6")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--per-user", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--repeat", type=float, default=0.25, help="fraction of repeated requests (cache workload)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant (median)")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    codec = load_jscc(args.codec, device)
    receiver = GscReceiver(codec, load_pretrained(args.refiner, SemanticFineTuning, device), 32, 32)
    fresh = workload(receiver, args.users, args.per_user, 0.0, device)
    repeated = workload(receiver, args.users, args.per_user, args.repeat, device)

    def one_at_a_time(requests):
        return [receiver(r.symbols[None], r.z_T[None])[0] for r in requests]

    def timed(fn, requests) -> tuple[float, list[torch.Tensor]]:
        out = fn(requests)
        sync(device)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = fn(requests)
            sync(device)
            times.append(time.perf_counter() - start)
        return float(np.median(times)), out

    def server(max_batch: int, pipeline: bool, cache: int):
        def serve(requests):
            return MultiUserServer(receiver, max_batch, cache, pipeline).serve(requests)  # a fresh cache per run

        return serve

    name = torch.cuda.get_device_name(device) if device != "cpu" else f"CPU, {torch.get_num_threads()} threads"
    n = len(fresh)
    print(f"device: {device} ({name}); {args.codec} + {args.refiner}; K = {args.users} users x {args.per_user} requests")

    # The SFT's share of GSC's time: decode and refine timed apart, one request at a time.
    decode_s = timed(lambda rs: [receiver.decode(r.symbols[None]) for r in rs], fresh)[0]
    decoded = [receiver.decode(r.symbols[None]) for r in fresh]
    refine_s = timed(lambda rs: [receiver.refine(d, r.z_T[None]) for d, r in zip(decoded, rs)], fresh)[0]
    print(f"  GSC per image: Swin decode {1e3 * decode_s / n:.2f} ms, SFT {1e3 * refine_s / n:.2f} ms "
          f"(SFT share {refine_s / (decode_s + refine_s):.0%})")  # fmt: skip

    variants = [
        ("GSC, one request at a time", one_at_a_time, fresh),
        ("MU-GSC batching only", server(args.max_batch, False, 0), fresh),
        ("MU-GSC pipeline only (batch 1)", server(1, True, 0), fresh),
        ("MU-GSC batching + pipeline", server(args.max_batch, True, 0), fresh),
        (f"GSC, {args.repeat:.0%} repeated requests", one_at_a_time, repeated),
        (f"MU-GSC all three, {args.repeat:.0%} repeated", server(args.max_batch, True, 1024), repeated),
    ]
    results = {}
    reference = {id(fresh): None, id(repeated): None}
    for label, fn, requests in variants:
        seconds, out = timed(fn, requests)
        results[label] = seconds
        if reference[id(requests)] is None:
            reference[id(requests)] = torch.stack(out)
        diff = (torch.stack(out) - reference[id(requests)]).abs().max().item()
        print(f"  {label:<36} {n / seconds:8.1f} images/s  {1e3 * seconds / n:7.2f} ms/image  max |diff| vs GSC {diff:.1e}")
    base, base_rep = results[variants[0][0]], results[variants[4][0]]
    print(f"MU-GSC / GSC time (batching + pipeline): {results[variants[3][0]] / base:.2f}  "
          f"(with the cache, {args.repeat:.0%} repeats: {results[variants[5][0]] / base_rep:.2f}); the paper's Table I: 0.57")  # fmt: skip


if __name__ == "__main__":
    main()
