"""A numba belief-propagation decoder for Sionna's 5G LDPC codes (CPU).

Why hand-written: Sionna's ``LDPC5GDecoder`` passes messages with gathers and
scatters over a padded Tanner graph in torch, which suits a GPU; on a CPU each
iteration allocates and reshapes several (batch, edges) tensors and the
decoder is about 90% of the coded chain's time. This kernel walks the graph
in compressed-row form, ``LANES`` codewords at a time in SIMD lanes, groups of them in parallel
(``prange``).

What is Sionna's and what is not. The code (parity-check matrix, lifting,
rate matching, interleaving) comes from Sionna's ``LDPC5GEncoder``; the graph
after Sionna's pruning of punctured degree-1 nodes, and the rate recovery
(de-interleaving, the 2Z punctured systematic bits as erasures, the filler
bits as known zeros) are those of a Sionna ``LDPC5GDecoder`` built for the same
encoder, so the kernel sees exactly the LLRs Sionna's message passing sees.
The kernel reimplements Sionna's message passing (``LDPCBPDecoder``): LLRs
clipped to +-``llr_max``, the VN update ``sum`` with the extrinsic and total
LLRs clipped, and the CN rules

- ``boxplus-phi``: y = prod(sign) phi(sum phi(|x|)) over the other edges,
  phi(x) = -log tanh(x / 2) with Sionna's clamp of x to [8.5e-8, 16.635532] (``fastmath32.phi``:
  within 1.5e-6 of the exact value, where Sionna's float32 log(e^x + 1) - log(e^x - 1) is off by
  up to 0.69 below x = 1e-6, in messages too weak to move a decision);
- ``boxplus``: y = 2 atanh(prod tanh(x / 2)) over the other edges (Sionna's
  division by the own factor, zeros as 1e-12, |y| < 1e-7 as 0, atanh input clamped; tanh and
  atanh from ``fastmath32``);
- ``minsum`` / ``offset-minsum`` (offset 0.5): sign product times the smallest
  other magnitude (minus the offset, floored at 0);

all float32, edges visited in Sionna's order, so the hard decisions are Sionna's: identical
on every codeword Sionna decodes (and on all for offset min-sum); they can differ on words
neither decodes, whose failures are chaotic under float rounding in another order (torch's
vectorised sums, another phi).

Speed (``gscsim bench phy``, this 2-core CPU, (1024, 512), 20 flooding iterations): about 12x
Sionna's decoder with boxplus-phi on one core, 0.6-0.85 Mbit/s depending on the process (the
spread is the memory layout's luck: see ``_workspace``), and 1.9x that on two. What makes it fast:
``LANES`` codewords go through the graph together, messages laid out edge-major and lane-minor so
every loop over lanes is one or two AVX2 vectors, with phi / tanh / atanh in plain float32
arithmetic (``phy.fastmath32``) because numba's libm calls do not vectorise here.
Schedules: ``flooding`` (all CNs, then all VNs, per iteration) and ``layered``
(Sionna's: per block row of Z check nodes, update those CNs, then every VN). ``early_stop`` ends a codeword's iterations once its hard
decisions satisfy every parity check (Sionna has no early stop; with it the
results can differ from Sionna's in the rare codeword whose decisions would
still change after the syndrome is met).

Shapes: LLRs float32 (..., n) in Sionna's sign convention log(P(1)/P(0)) ->
hard information bits float32 (..., k).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

from . import fastmath32

__all__ = ["CN_RULES", "NumbaLDPC5GDecoder"]

#: Sionna's names of the check-node rules -> kernel codes.
CN_RULES = {"boxplus-phi": 0, "boxplus": 1, "minsum": 2, "offset-minsum": 3}
SCHEDULES = ("flooding", "layered")

_ATANH_CLIP = np.float32(1 - 1e-7)
#: codewords decoded together by one thread, one per SIMD lane (8 float32 lanes of AVX2; 16 keeps
#: two vectors in flight per instruction stream, which measured faster on this CPU)
LANES = 16


@numba.njit(cache=True, inline="always", error_model="numpy")
def _parities(v2c, start, stop, parity):
    """parity[w] = the product of the signs of lane w's messages on edges start..stop-1 (+-1)."""
    for w in range(LANES):
        parity[w] = np.float32(1)
    for e in range(start, stop):
        for w in range(LANES):
            parity[w] = -parity[w] if v2c[e * LANES + w] < 0 else parity[w]


@numba.njit(cache=True, error_model="numpy")
def _cn_boxplus_phi(v2c, c2v, start, stop, llr_max, scratch, acc, parity):
    """One check node, every lane: y = prod(sign) phi(sum phi(|x|)) over the other edges."""
    _parities(v2c, start, stop, parity)
    for w in range(LANES):
        acc[w] = np.float32(0)
    for e in range(start, stop):
        base, sbase = e * LANES, (e - start) * LANES
        for w in range(LANES):
            p = fastmath32.phi(abs(v2c[base + w]))
            scratch[sbase + w] = p
            acc[w] += p
    for e in range(start, stop):
        base, sbase = e * LANES, (e - start) * LANES
        for w in range(LANES):
            x = v2c[base + w]
            sign = -parity[w] if x < 0 else parity[w]
            y = sign * fastmath32.phi(acc[w] - scratch[sbase + w])
            c2v[base + w] = min(max(y, -llr_max), llr_max)


@numba.njit(cache=True, error_model="numpy")
def _cn_boxplus(v2c, c2v, start, stop, llr_max, scratch, acc):
    """One check node, every lane: Sionna's y = 2 atanh(prod tanh(x / 2) / tanh(x_own / 2))."""
    for w in range(LANES):
        acc[w] = np.float32(1)
    for e in range(start, stop):
        base, sbase = e * LANES, (e - start) * LANES
        for w in range(LANES):
            t = fastmath32.tanh_half(v2c[base + w])
            t = np.float32(1e-12) if t == 0 else t
            scratch[sbase + w] = t
            acc[w] *= t
    for e in range(start, stop):
        base, sbase = e * LANES, (e - start) * LANES
        for w in range(LANES):
            m = np.float32(np.float32(1) / scratch[sbase + w]) * acc[w]
            m = np.float32(0) if abs(m) < np.float32(1e-7) else m
            m = min(max(m, -_ATANH_CLIP), _ATANH_CLIP)
            c2v[base + w] = min(max(fastmath32.two_atanh(m), -llr_max), llr_max)


@numba.njit(cache=True, error_model="numpy")
def _cn_minsum(v2c, c2v, start, stop, llr_max, offset, acc, second, parity):
    """One check node, every lane: prod(sign) times the smallest other |x| (minus ``offset``, floored at 0)."""
    _parities(v2c, start, stop, parity)
    for w in range(LANES):
        acc[w] = np.float32(np.inf)
        second[w] = np.float32(np.inf)
    for e in range(start, stop):
        for w in range(LANES):
            a = abs(v2c[e * LANES + w])
            second[w] = min(max(a, acc[w]), second[w])
            acc[w] = min(a, acc[w])
    for w in range(LANES):  # Sionna finds the second minimum as (|x| - min1) + min1: the same rounding
        m1, m2 = acc[w], second[w]
        second[w] = (m2 - m1) + m1 if m2 != np.float32(np.inf) else m2
    for e in range(start, stop):
        base = e * LANES
        for w in range(LANES):
            x = v2c[base + w]
            sign = -parity[w] if x < 0 else parity[w]
            m = second[w] if abs(x) == acc[w] else acc[w]  # the minimum's own edge gets the second
            c2v[base + w] = min(max(sign * max(m - offset, np.float32(0)), -llr_max), llr_max)


@numba.njit(cache=True, error_model="numpy")
def _check_nodes(rule, v2c, c2v, cn_ptr, c_start, c_stop, llr_max, scratch, acc, second, parity):
    """c2v from v2c for check nodes c_start..c_stop-1, every lane.

    Messages are edge-major, lane-minor: edge e of lane w at [e * LANES + w]; the loops over lanes
    are what LLVM vectorises (phi, tanh and atanh are plain arithmetic, ``phy.fastmath32``).
    """
    offset = np.float32(0.5) if rule == 3 else np.float32(0)
    for c in range(c_start, c_stop):
        if rule == 0:
            _cn_boxplus_phi(v2c, c2v, cn_ptr[c], cn_ptr[c + 1], llr_max, scratch, acc, parity)
        elif rule == 1:
            _cn_boxplus(v2c, c2v, cn_ptr[c], cn_ptr[c + 1], llr_max, scratch, acc)
        else:
            _cn_minsum(v2c, c2v, cn_ptr[c], cn_ptr[c + 1], llr_max, offset, acc, second, parity)


@numba.njit(cache=True, error_model="numpy")
def _variable_nodes(llr, c2v, v2c, total, vn_ptr, vn_edges, llr_max, acc):
    """Sionna's ``sum`` VN update over every VN and lane: v2c (extrinsic) and total, both clipped."""
    for v in range(len(vn_ptr) - 1):
        for w in range(LANES):
            acc[w] = np.float32(0)
        for i in range(vn_ptr[v], vn_ptr[v + 1]):
            base = vn_edges[i] * LANES
            for w in range(LANES):
                acc[w] += c2v[base + w]
        for w in range(LANES):
            acc[w] += llr[v * LANES + w]  # after the messages, as Sionna sums them (the same rounding)
        for i in range(vn_ptr[v], vn_ptr[v + 1]):
            base = vn_edges[i] * LANES
            for w in range(LANES):
                v2c[base + w] = min(max(acc[w] - c2v[base + w], -llr_max), llr_max)
        for w in range(LANES):
            total[v * LANES + w] = min(max(acc[w], -llr_max), llr_max)


@numba.njit(cache=True, error_model="numpy")
def _syndromes_ok(total, cn_ptr, edge_vn, parity, ok):
    """ok[w] = 1 where lane w's hard decisions satisfy every parity check."""
    for w in range(LANES):
        ok[w] = 1
    for c in range(len(cn_ptr) - 1):
        for w in range(LANES):
            parity[w] = 0
        for e in range(cn_ptr[c], cn_ptr[c + 1]):
            base = edge_vn[e] * LANES
            for w in range(LANES):
                parity[w] ^= 1 if total[base + w] <= 0 else 0
        for w in range(LANES):
            ok[w] &= 1 - parity[w]


@numba.njit(cache=True, error_model="numpy")
def _workspace(n, num_edges, max_degree):
    """The buffers of one group: llr, v2c, c2v, total, scratch, acc, second, parity (float32).

    Carved from one array so that no two start at the same offset within a 4 KiB page: separate
    page-aligned allocations of these sizes (multiples of 4 KiB) put c2v[e] and v2c[e] 4 KiB apart
    modulo, and the core's store-to-load "4K aliasing" then ran the VN update 2-3x slower. Each
    starts on a 64-byte cache line.
    """
    sizes = (n * LANES, num_edges * LANES, num_edges * LANES, n * LANES, max_degree * LANES, LANES, LANES, LANES)
    page, step = 1024, 128  # in float32: 4 KiB pages, segment i starts at 512 i bytes into a page
    starts = np.empty(len(sizes) + 1, dtype=np.int64)
    position = 0
    for i in range(len(sizes)):
        position = (position + page - 1) // page * page + (i % 8) * step
        starts[i] = position
        position += sizes[i]
    memory = np.empty(position + 16, dtype=np.float32)
    # rows of 16 lanes are 64 bytes: start on a cache line, or every vector load spans two
    memory = memory[(-memory.ctypes.data) % 64 // 4 :]
    return (
        memory[starts[0] : starts[0] + sizes[0]], memory[starts[1] : starts[1] + sizes[1]],
        memory[starts[2] : starts[2] + sizes[2]], memory[starts[3] : starts[3] + sizes[3]],
        memory[starts[4] : starts[4] + sizes[4]], memory[starts[5] : starts[5] + sizes[5]],
        memory[starts[6] : starts[6] + sizes[6]], memory[starts[7] : starts[7] + sizes[7]],
    )  # fmt: skip


@numba.njit(cache=True, error_model="numpy")
def _decode_group(llr_in, first, graph, rule, num_iter, llr_max, early_stop, out, iterations, buffers):
    """Decode codewords first..first+LANES-1 of ``llr_in`` (a short last group is padded with the
    all-zero codeword at full confidence) into ``out`` / ``iterations``; ``buffers`` are reused."""
    cn_ptr, edge_vn, vn_ptr, vn_edges, layers = graph
    llr, v2c, c2v, total, scratch, acc, second, parity = buffers
    B, n = llr_in.shape
    k = out.shape[1]
    lanes = min(LANES, B - first)
    llr[:] = llr_max
    for w in range(lanes):
        for v in range(n):
            llr[v * LANES + w] = -min(max(llr_in[first + w, v], -llr_max), llr_max)  # logits -> LLRs, as Sionna
    for e in range(len(edge_vn)):
        for w in range(LANES):
            v2c[e * LANES + w] = llr[edge_vn[e] * LANES + w]
    c2v[:] = 0
    total[:] = llr
    bit_parity = np.empty(LANES, dtype=np.int32)
    ok = np.zeros(LANES, dtype=np.int32)
    finished = np.zeros(LANES, dtype=np.int32)
    for it in range(num_iter):
        for j in range(len(layers) - 1):
            _check_nodes(rule, v2c, c2v, cn_ptr, layers[j], layers[j + 1], llr_max, scratch, acc, second, parity)
            _variable_nodes(llr, c2v, v2c, total, vn_ptr, vn_edges, llr_max, acc)
        last = it == num_iter - 1
        if early_stop or last:
            if early_stop:
                _syndromes_ok(total, cn_ptr, edge_vn, bit_parity, ok)
            for w in range(lanes):
                if finished[w] == 0 and (last or ok[w] == 1):
                    finished[w] = 1
                    iterations[first + w] = it + 1
                    for v in range(k):
                        out[first + w, v] = 1 if total[v * LANES + w] <= 0 else 0
            if finished[:lanes].sum() == lanes:
                return


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _decode(llr_in, cn_ptr, edge_vn, vn_ptr, vn_edges, layers, rule, num_iter, llr_max, early_stop, k, max_degree, threads):
    """Hard decisions uint8 (B, k) and iterations run int32 (B,) from Sionna-convention LLRs (B, n_pruned).

    Codewords go in groups of ``LANES``; the groups are dealt to a few chunks per thread
    (``prange``), each with its buffers allocated once (``_workspace``). ``layers``: int64
    (L + 1,) boundaries of the CN blocks updated together (flooding: [0, num_cns]). With
    ``early_stop`` a lane's decisions are taken when its syndrome is first satisfied and the group
    stops when all are.
    """
    B, n = llr_in.shape
    num_edges = len(edge_vn)
    out = np.zeros((B, k), dtype=np.uint8)
    iterations = np.zeros(B, dtype=np.int32)
    groups = (B + LANES - 1) // LANES
    chunks = min(groups, 4 * threads)
    graph = (cn_ptr, edge_vn, vn_ptr, vn_edges, layers)
    for chunk in numba.prange(chunks):
        buffers = _workspace(n, num_edges, max_degree)
        for g in range(chunk, groups, chunks):
            _decode_group(llr_in, g * LANES, graph, rule, num_iter, llr_max, early_stop, out, iterations, buffers)
    return out, iterations


class NumbaLDPC5GDecoder(torch.nn.Module):
    """Drop-in for ``LDPC5GDecoder(encoder, cn_update, num_iter=..., hard_out=True)`` on CPU.

    :param encoder: Sionna's ``LDPC5GEncoder`` (the code and its rate matching).
    :param cn_update: ``boxplus-phi``, ``boxplus``, ``minsum`` or ``offset-minsum``.
    :param schedule: ``flooding`` or ``layered`` (Sionna's meaning of both).
    :param early_stop: stop a codeword once its syndrome is satisfied.
    """

    def __init__(
        self, encoder: LDPC5GEncoder, cn_update: str = "boxplus-phi", num_iter: int = 20, llr_max: float = 20.0,
        schedule: str = "flooding", early_stop: bool = False,
    ):  # fmt: skip
        super().__init__()
        if cn_update not in CN_RULES:
            raise ValueError(f"cn_update {cn_update!r}: expected one of {', '.join(CN_RULES)}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule {schedule!r}: expected flooding or layered")
        # Sionna's decoder for the same code: its pruned graph and its rate recovery
        self.reference = LDPC5GDecoder(encoder, cn_update=cn_update, num_iter=num_iter, cn_schedule=schedule, hard_out=True, device="cpu")
        self.encoder, self.rule, self.num_iter, self.llr_max = encoder, CN_RULES[cn_update], num_iter, float(llr_max)
        self.schedule, self.early_stop = schedule, early_stop
        # Sionna's edge order (grouped by VN) and its permutation to the CN grouping, so that
        # every sum adds the same messages in the same order
        cn_idx, vn_idx = np.asarray(self.reference._cn_idx), np.asarray(self.reference._vn_idx)
        order = np.argsort(cn_idx)
        num_cns, num_vns = self.reference.num_cns, self.reference.num_vns
        self.cn_ptr = np.searchsorted(cn_idx[order], np.arange(num_cns + 1)).astype(np.int64)
        self.edge_vn = vn_idx[order].astype(np.int64)
        self.vn_edges = np.argsort(order).astype(np.int64)  # Sionna's edge i sits at CN-layout position vn_edges[i]
        self.vn_ptr = np.searchsorted(vn_idx, np.arange(num_vns + 1)).astype(np.int64)
        z = encoder.z
        self.layers = np.arange(0, num_cns + 1, z, dtype=np.int64) if schedule == "layered" else np.array([0, num_cns], dtype=np.int64)
        if self.layers[-1] != num_cns:
            raise ValueError(f"layered schedule: {num_cns} check nodes are not whole block rows of Z = {z}")
        self.max_degree = int(np.diff(self.cn_ptr).max())
        self.last_iterations: np.ndarray | None = None

    def rate_recovered(self, llr: torch.Tensor) -> torch.Tensor:
        """float32 (B, n_pruned) LLRs of the whole (pruned) 5G codeword, as Sionna's decoder builds them."""
        ref, enc = self.reference, self.encoder
        llr = llr.reshape(-1, enc.n).float()
        if enc.num_bits_per_symbol is not None:
            llr = llr[:, enc.out_int_inv]
        buffer = torch.nn.functional.pad(llr, (0, enc.n_cb_comp - ref._nb_pruned_nodes - enc.n))
        n_sys = enc.k - 2 * enc.z
        B = llr.shape[0]
        return torch.cat([
            torch.zeros(B, 2 * enc.z), buffer[:, :n_sys], torch.full((B, enc.k_filler), -self.llr_max), buffer[:, n_sys:],
        ], dim=1)  # fmt: skip

    def forward(self, llr: torch.Tensor) -> torch.Tensor:
        """float32 (..., n) LLRs (log P(1)/P(0)) -> float32 (..., k) hard information bits."""
        if llr.shape[-1] != self.encoder.n:
            raise ValueError(f"LLRs must end in n = {self.encoder.n}; got {tuple(llr.shape)}")
        full = self.rate_recovered(llr.detach().cpu()).numpy()
        bits, iterations = _decode(
            np.ascontiguousarray(full, dtype=np.float32), self.cn_ptr, self.edge_vn, self.vn_ptr, self.vn_edges,
            self.layers, self.rule, self.num_iter, np.float32(self.llr_max), self.early_stop, self.encoder.k,
            self.max_degree, numba.get_num_threads(),
        )  # fmt: skip
        self.last_iterations = iterations
        return torch.from_numpy(bits).float().reshape(*llr.shape[:-1], self.encoder.k).to(llr.device)
