"""OFDMA resource grid: K users on orthogonal subcarrier sets.

Sionna's ``ResourceGrid`` gives the grid geometry (FFT size, OFDM symbols,
subcarrier spacing and frequencies) used by its channel models. It has no
notion of users sharing one transmitter's grid by subcarrier, so placing each
user's symbols on its own subcarriers (and taking them back out) is done here
with two index operations.

Shapes: B batch, K users, S OFDM symbols, L subcarriers, N subcarriers per user.
"""

from __future__ import annotations

import torch
from sionna.phy.ofdm import ResourceGrid

from .config import GridConfig

__all__ = ["OFDMAGrid", "fixed_assignment"]


def fixed_assignment(
    num_users: int, subcarriers_per_user: int, num_subcarriers: int, pattern: str
) -> torch.Tensor:
    """Subcarrier indices of each user for a fixed pattern.

    :returns: int64 (K, N); row k holds user k's subcarriers in increasing order.
        ``contiguous``: user k gets [kN, (k+1)N); ``interleaved``: k, k+K, k+2K, ...
    """
    K, N, L = num_users, subcarriers_per_user, num_subcarriers
    if K * N > L:
        raise ValueError(f"K * N = {K * N} subcarriers requested but the grid has L = {L}")
    if pattern == "contiguous":
        return torch.arange(K * N).reshape(K, N)
    if pattern == "interleaved":
        return torch.arange(K * N).reshape(N, K).T.contiguous()
    raise ValueError(f"allocation pattern {pattern!r}: expected 'contiguous' or 'interleaved'")


class OFDMAGrid:
    """Places users' symbols on their subcarriers of one grid and extracts them.

    :param config: grid geometry and the default allocation pattern.
    :param device: torch device of the index tensors.
    """

    def __init__(self, config: GridConfig, device: str = "cpu"):
        self.config = config
        self.num_users = config.num_users
        self.num_subcarriers = config.num_subcarriers
        self.num_ofdm_symbols = config.num_ofdm_symbols
        self.subcarriers_per_user = config.n
        self.device = device
        self.resource_grid = ResourceGrid(
            num_ofdm_symbols=config.num_ofdm_symbols,
            fft_size=config.num_subcarriers,
            subcarrier_spacing=config.subcarrier_spacing_hz,
            num_tx=1,
            num_streams_per_tx=1,
            device=device,
        )
        #: int64 (K, N) assignment of a fixed pattern; None when it follows the channel.
        self.default_assignment = (
            fixed_assignment(config.num_users, config.n, config.num_subcarriers, config.allocation).to(device)
            if config.allocation in ("contiguous", "interleaved")
            else None
        )

    def _resolve(self, assignment: torch.Tensor | None) -> torch.Tensor:
        """(1 or B, K, N) int64 assignment to use."""
        a = self.default_assignment if assignment is None else assignment.to(torch.int64)
        if a is None:
            raise ValueError(
                f"allocation = {self.config.allocation!r} follows the channel: pass an assignment"
            )
        return a.unsqueeze(0) if a.dim() == 2 else a

    def check_assignment(self, assignment: torch.Tensor) -> None:
        """Raise if ``assignment`` is not (K, N) or (B, K, N) indices into the grid."""
        K, N = self.num_users, self.subcarriers_per_user
        if assignment.dim() not in (2, 3) or tuple(assignment.shape[-2:]) != (K, N):
            raise ValueError(
                f"assignment has shape {tuple(assignment.shape)}; expected ({K}, {N}) or (B, {K}, {N})"
            )
        if assignment.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"assignment dtype is {assignment.dtype}; expected an integer dtype")
        flat = assignment.reshape(-1, K * N)
        if flat.numel() == 0:
            return
        if bool(flat.min() < 0) or bool(flat.max() >= self.num_subcarriers):
            raise ValueError(f"assignment indices must lie in [0, {self.num_subcarriers})")
        ordered = flat.sort(dim=-1).values
        if bool((ordered[:, 1:] == ordered[:, :-1]).any()):
            raise ValueError("assignment gives one subcarrier to two users (or twice to one)")

    def _indices(self, assignment: torch.Tensor | None, batch: int) -> torch.Tensor:
        """(B, S, K*N) int64 grid indices of every user's subcarriers."""
        a = self._resolve(assignment)
        flat = a.reshape(a.shape[0], 1, -1)
        return flat.expand(batch, self.num_ofdm_symbols, -1)

    def place(self, symbols: torch.Tensor, assignment: torch.Tensor | None = None) -> torch.Tensor:
        """Put each user's symbols on its subcarriers; other resource elements stay zero.

        :param symbols: complex (B, K, S, N), user k's symbol for OFDM symbol s on its
            n-th subcarrier.
        :param assignment: int (K, N) or (B, K, N) subcarrier indices; orthogonal across
            users. ``None`` uses the config's fixed pattern (if it has one).
        :returns: complex (B, S, L) transmitted grid.
        """
        B, K, S, N = symbols.shape
        index = self._indices(assignment, B)
        values = symbols.permute(0, 2, 1, 3).reshape(B, S, K * N)
        grid = torch.zeros(B, S, self.num_subcarriers, dtype=symbols.dtype, device=symbols.device)
        return grid.scatter(-1, index, values)

    def extract(self, grid: torch.Tensor, assignment: torch.Tensor | None = None) -> torch.Tensor:
        """Take each user's subcarriers out of a grid.

        :param grid: (B, S, L) one grid seen by all users, or (B, K, S, L) one per user
            (e.g. per-user channel responses or received signals).
        :returns: (B, K, S, N), same dtype as ``grid``.
        """
        K, N = self.num_users, self.subcarriers_per_user
        if grid.dim() == 3:
            B, S, _ = grid.shape
            picked = grid.gather(-1, self._indices(assignment, B))
            return picked.reshape(B, S, K, N).permute(0, 2, 1, 3)
        B, _, S, _ = grid.shape
        index = self._resolve(assignment).unsqueeze(2).expand(B, K, S, N)
        return grid.gather(-1, index)
