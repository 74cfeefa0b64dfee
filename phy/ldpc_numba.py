"""A numba belief-propagation decoder for Sionna's 5G LDPC codes (CPU).

Why hand-written: Sionna's ``LDPC5GDecoder`` passes messages with gathers and
scatters over a padded Tanner graph in torch, which suits a GPU; on a CPU each
iteration allocates and reshapes several (batch, edges) tensors and the
decoder is about 90% of the coded chain's time. This kernel walks the graph
in compressed-row form, one codeword per thread (``prange``), with every
message of a codeword in cache.

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
  phi(x) = -log tanh(x / 2) with Sionna's float32 clamp [8.5e-8, 16.635532], computed as
  log((e^x + 1) / (e^x - 1)) (one log where Sionna takes two: equal to float32 rounding);
- ``boxplus``: y = 2 atanh(prod tanh(x / 2)) over the other edges (Sionna's
  division by the own factor, zeros as 1e-12, |y| < 1e-7 as 0, atanh input clamped);
- ``minsum`` / ``offset-minsum`` (offset 0.5): sign product times the smallest
  other magnitude (minus the offset, floored at 0);

all float32, edges visited in Sionna's order, so the hard decisions are Sionna's: identical
on every codeword Sionna decodes (and on all for offset min-sum); they can differ on words
neither decodes, whose failures are chaotic under float rounding in another order (torch's
vectorised sums, the one-log phi).

Speed (``gscsim bench phy``, this 2-core CPU): 2-3x Sionna's decoder with boxplus-phi (its
exp / log per message dominate: about 40 M messages / s per core) and 6.6x with offset
min-sum, one codeword per thread. Processing several codewords per thread in SIMD lanes
(messages laid out edge-major, codeword-minor) is what would close the rest.
Schedules: ``flooding`` (all CNs, then all VNs, per iteration) and ``layered``
(Sionna's: per block row of Z check nodes, update those CNs then the VNs;
within a 5G block row no two CNs share a VN, so the kernel updates the VN
totals CN by CN). ``early_stop`` ends a codeword's iterations once its hard
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

__all__ = ["CN_RULES", "NumbaLDPC5GDecoder"]

#: Sionna's names of the check-node rules -> kernel codes.
CN_RULES = {"boxplus-phi": 0, "boxplus": 1, "minsum": 2, "offset-minsum": 3}
SCHEDULES = ("flooding", "layered")

_PHI_MIN = np.float32(8.5e-8)
_PHI_MAX = np.float32(16.635532)
_ATANH_CLIP = np.float32(1 - 1e-7)


@numba.njit(cache=True, inline="always", fastmath=True)
def _phi(x):
    # log((e + 1) / (e - 1)): one exp and one log where Sionna's form takes two logs
    x = min(max(x, _PHI_MIN), _PHI_MAX)
    e = np.float32(np.exp(x))
    return np.float32(np.log((e + np.float32(1)) / (e - np.float32(1))))


@numba.njit(cache=True)
def _check_node(rule, v2c, c2v, start, stop, llr_max, scratch):
    """c2v[start:stop] from v2c[start:stop] (one check node's edges)."""
    one = np.float32(1)
    sign = one
    for e in range(start, stop):
        if v2c[e] < 0:
            sign = -sign
    if rule == 0:  # boxplus-phi
        total = np.float32(0)
        for e in range(start, stop):
            scratch[e - start] = _phi(abs(v2c[e]))
            total += scratch[e - start]
        for e in range(start, stop):
            s = -one if v2c[e] < 0 else one
            y = sign * s * _phi(total - scratch[e - start])
            c2v[e] = min(max(y, -llr_max), llr_max)
    elif rule == 1:  # boxplus (tanh)
        prod = one
        for e in range(start, stop):
            t = np.float32(np.tanh(v2c[e] / np.float32(2)))
            if t == 0:
                t = np.float32(1e-12)
            scratch[e - start] = t
            prod *= t
        for e in range(start, stop):
            m = np.float32(one / scratch[e - start]) * prod
            if abs(m) < np.float32(1e-7):
                m = np.float32(0)
            m = min(max(m, -_ATANH_CLIP), _ATANH_CLIP)
            y = np.float32(2) * np.float32(np.arctanh(m))
            c2v[e] = min(max(y, -llr_max), llr_max)
    else:  # minsum, offset-minsum
        offset = np.float32(0.5) if rule == 3 else np.float32(0)
        min1 = np.float32(np.inf)
        min2 = np.float32(np.inf)
        arg = -1
        for e in range(start, stop):
            a = abs(v2c[e])
            if a < min1:
                min2 = min1
                min1 = a
                arg = e
            elif a < min2:
                min2 = a
        # Sionna finds the second minimum as (|x| - min1) + min1: the same float32 rounding
        min2 = (min2 - min1) + min1 if min2 != np.float32(np.inf) else min2
        for e in range(start, stop):
            s = -one if v2c[e] < 0 else one
            m = min2 if e == arg else min1
            y = sign * s * max(m - offset, np.float32(0))
            c2v[e] = min(max(y, -llr_max), llr_max)


@numba.njit(cache=True)
def _variable_nodes(llr, c2v, v2c, total, vn_ptr, vn_edges, llr_max):
    """Sionna's ``sum`` VN update over every VN: v2c (extrinsic) and total, both clipped."""
    for v in range(len(llr)):
        t = np.float32(0)
        for i in range(vn_ptr[v], vn_ptr[v + 1]):
            t += c2v[vn_edges[i]]
        t += llr[v]  # after the messages, as Sionna sums them (the same float32 rounding)
        for i in range(vn_ptr[v], vn_ptr[v + 1]):
            e = vn_edges[i]
            v2c[e] = min(max(t - c2v[e], -llr_max), llr_max)
        total[v] = min(max(t, -llr_max), llr_max)


@numba.njit(cache=True)
def _syndrome_ok(total, cn_ptr, edge_vn):
    for c in range(len(cn_ptr) - 1):
        parity = 0
        for e in range(cn_ptr[c], cn_ptr[c + 1]):
            if total[edge_vn[e]] <= 0:
                parity ^= 1
        if parity:
            return False
    return True


@numba.njit(cache=True, parallel=True)
def _decode(llr_in, cn_ptr, edge_vn, vn_ptr, vn_edges, layers, rule, num_iter, llr_max, early_stop, k, max_degree):
    """Hard decisions uint8 (B, k) and iterations run int32 (B,) from Sionna-convention LLRs (B, n_pruned).

    ``layers``: int64 (L + 1,) boundaries of the CN blocks updated together (flooding: [0, num_cns]).
    """
    B, n = llr_in.shape
    num_edges = len(edge_vn)
    out = np.zeros((B, k), dtype=np.uint8)
    iterations = np.zeros(B, dtype=np.int32)
    for b in numba.prange(B):
        llr = np.empty(n, dtype=np.float32)
        for v in range(n):
            llr[v] = -min(max(llr_in[b, v], -llr_max), llr_max)  # logits -> "true" LLRs, as Sionna
        v2c = np.empty(num_edges, dtype=np.float32)
        for e in range(num_edges):
            v2c[e] = llr[edge_vn[e]]
        c2v = np.zeros(num_edges, dtype=np.float32)
        total = llr.copy()
        scratch = np.empty(max_degree, dtype=np.float32)
        done = 0
        for it in range(num_iter):
            for j in range(len(layers) - 1):
                for c in range(layers[j], layers[j + 1]):
                    _check_node(rule, v2c, c2v, cn_ptr[c], cn_ptr[c + 1], llr_max, scratch)
                _variable_nodes(llr, c2v, v2c, total, vn_ptr, vn_edges, llr_max)
            done = it + 1
            if early_stop and _syndrome_ok(total, cn_ptr, edge_vn):
                break
        iterations[b] = done
        for v in range(k):
            out[b, v] = 1 if total[v] <= 0 else 0
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
            self.max_degree,
        )  # fmt: skip
        self.last_iterations = iterations
        return torch.from_numpy(bits).float().reshape(*llr.shape[:-1], self.encoder.k).to(llr.device)
