"""GSC's receiver and MU-GSC's multi-user server (Zhang et al., "Semantic Successive
Refinement", seed 002, Sections III-D/E, Table I).

:class:`GscReceiver` is the single-user system: the Swin-JSCC decoder turns received channel
symbols into the decoded image I~ (eq. (17)), and the SFT module
(:class:`semantic.receivers.sft.SemanticFineTuning`) refines it from Z_T ~ N(0, I) (Alg. 2).
Without an SFT it is the paper's non-generative framework (NGF, Fig. 6).

:class:`MultiUserServer` is MU-GSC: the requests of K users are served together with the
three mechanisms of Section III-E:

- **batching across users** (the paper's "data segmentation" and "task parallel
  processing"): requests from all users are stacked, in arrival order, into micro-batches
  of up to ``max_batch``, so one network call serves several users;
- **a pipeline** (the paper's "asynchronous concurrent processing"): a worker thread decodes
  micro-batch i + 1 while the caller's thread refines micro-batch i (torch releases the GIL
  inside its kernels, so the two stages overlap on separate cores);
- **a cache** of results keyed by the request's content (received symbols and Z_T, hashed
  byte for byte): a repeated request (a retransmission of the same received frame, or two
  users asking with the same symbols) is answered without computation. Over a noisy link no
  two receptions are byte-identical, so a sweep's requests never hit it; it is measured on
  workloads with repeats (``sims/bench/gsc.py``).

Results equal :class:`GscReceiver`'s on the same request: bitwise with ``max_batch = 1`` (the
pipeline and the cache change no arithmetic), and to float32 rounding with batching (CPU
convolution and matrix kernels sum in a batch-size-dependent order: measured differences
~1e-4 on images in [-1, 1], well below one 8-bit level, 2/255).

Symbols complex64 (k,) per request; Z_T float32 (4C',); images float32 (3, H, W) in [-1, 1].
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from .receivers.sft import SemanticFineTuning

__all__ = ["GscReceiver", "MultiUserServer", "Request", "ServerStats", "request_keys"]


class GscReceiver:
    """Swin-JSCC decoder (+ SFT refiner): received symbols -> images.

    :param codec: a :class:`semantic.swinjscc.SwinJSCC` (any codec with ``decode(symbols, H, W)``).
    :param sft: the refiner, or None for NGF (the decoded image as it is).
    """

    def __init__(self, codec: torch.nn.Module, sft: SemanticFineTuning | None, height: int, width: int):
        self.codec, self.sft, self.height, self.width = codec, sft, height, width

    @property
    def prior_dim(self) -> int:
        """Length of Z_T each request carries (0 without SFT)."""
        return 0 if self.sft is None else self.sft.prior_dim

    @torch.no_grad()
    def decode(self, symbols: torch.Tensor) -> torch.Tensor:
        """complex (N, k) -> I~ float (N, 3, H, W) in [-1, 1]."""
        return self.codec.decode(symbols, self.height, self.width)

    @torch.no_grad()
    def refine(self, decoded: torch.Tensor, z_T: torch.Tensor) -> torch.Tensor:
        """I~ (N, 3, H, W), Z_T (N, 4C') -> I^ (N, 3, H, W), contiguous (I~ itself without SFT)."""
        # contiguous: the convolutions may hand back channels-last strides, and a reduction over those
        # (the metrics) sums in another order than over the same values stacked by the server.
        return (decoded if self.sft is None else self.sft(decoded, z_T)).contiguous()

    def __call__(self, symbols: torch.Tensor, z_T: torch.Tensor) -> torch.Tensor:
        """complex (N, k), Z_T (N, 4C') -> refined images (N, 3, H, W)."""
        return self.refine(self.decode(symbols), z_T)


@dataclass(frozen=True)
class Request:
    """One user's request: what it received and the Z_T its reverse chain starts from."""

    user: int
    symbols: torch.Tensor  #: complex64 (k,)
    z_T: torch.Tensor  #: float32 (4C',) (shape (0,) without SFT)

    def key(self) -> bytes:
        """Content hash of the request (symbols and Z_T, byte for byte)."""
        return request_keys([self])[0]


def request_keys(requests: list[Request]) -> list[bytes]:
    """:meth:`Request.key` of many requests with one device-to-host copy per tensor kind, not per request."""
    if not requests:
        return []
    symbols = torch.stack([r.symbols for r in requests]).detach().cpu().numpy()
    z_T = torch.stack([r.z_T for r in requests]).detach().cpu().numpy()
    keys = []
    for s, z in zip(symbols, z_T):
        h = hashlib.blake2b(digest_size=16)
        h.update(s.tobytes())
        h.update(z.tobytes())
        keys.append(h.digest())
    return keys


@dataclass
class ServerStats:
    """What one :meth:`MultiUserServer.serve` call did."""

    requests: int = 0
    cache_hits: int = 0  #: answered from the cache or by an identical request earlier in the call
    batches: int = 0
    decode_s: float = 0.0  #: time inside the decoder (worker thread when pipelined)
    refine_s: float = 0.0  #: time inside the SFT
    wall_s: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)


class MultiUserServer:
    """MU-GSC (module docstring): batching across users, a decode/refine pipeline, a result cache.

    :param max_batch: requests per network call (1: no batching).
    :param cache_size: results kept (least recently used dropped); 0: no cache.
    :param pipeline: decode the next micro-batch in a worker thread while refining this one (off by
        default: on the 2-core CPU the two stages' kernels compete for the cores and serving gets
        slower; ``gscsim bench gsc`` measures each mechanism).
    """

    def __init__(self, receiver: GscReceiver, max_batch: int = 16, cache_size: int = 1024, pipeline: bool = False):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self.receiver, self.max_batch, self.cache_size, self.pipeline = receiver, max_batch, cache_size, pipeline
        self._cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.stats = ServerStats()

    def clear_cache(self) -> None:
        """Forget every cached result."""
        self._cache.clear()

    def _remember(self, key: bytes, image: torch.Tensor) -> None:
        if self.cache_size:
            self._cache[key] = image
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def serve(self, requests: list[Request]) -> list[torch.Tensor]:
        """The refined image (3, H, W) of every request, in request order; ``stats`` tells how."""
        start = time.perf_counter()
        stats = ServerStats(requests=len(requests))
        keys = request_keys(requests)
        results: list[torch.Tensor | None] = [None] * len(requests)
        todo: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            if key in self._cache:
                self._cache.move_to_end(key)
                results[i] = self._cache[key]
                stats.cache_hits += 1
            elif key in todo:
                todo[key].append(i)
                stats.cache_hits += 1
            else:
                todo[key] = [i]
        unique = list(todo)
        batches = [unique[i : i + self.max_batch] for i in range(0, len(unique), self.max_batch)]

        threads = torch.get_num_threads()

        def decode(batch: list[bytes]) -> torch.Tensor:
            # A new thread starts with the default intra-op thread count, and kernels split their sums
            # by it: pin the caller's so that the pipelined decode computes what the caller's would.
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            tick = time.perf_counter()
            out = self.receiver.decode(torch.stack([requests[todo[k][0]].symbols for k in batch]))
            stats.decode_s += time.perf_counter() - tick
            return out

        def finish(batch: list[bytes], decoded: torch.Tensor) -> None:
            tick = time.perf_counter()
            refined = self.receiver.refine(decoded, torch.stack([requests[todo[k][0]].z_T for k in batch]))
            stats.refine_s += time.perf_counter() - tick
            for key, image in zip(batch, refined):
                self._remember(key, image)
                for i in todo[key]:
                    results[i] = image
            stats.batches += 1
            stats.batch_sizes.append(len(batch))

        if self.pipeline and len(batches) > 1:
            with ThreadPoolExecutor(max_workers=1) as worker:
                pending = worker.submit(decode, batches[0])
                for i, batch in enumerate(batches):
                    decoded = pending.result()
                    if i + 1 < len(batches):
                        pending = worker.submit(decode, batches[i + 1])
                    finish(batch, decoded)
        else:
            for batch in batches:
                finish(batch, decode(batch))
        stats.wall_s = time.perf_counter() - start
        self.stats = stats
        return results  # type: ignore[return-value]
