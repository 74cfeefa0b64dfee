"""Channel estimation from pilots: Sionna's Kronecker pilots and its LS and LMMSE estimators.

The downlink's pilots are broadcast: P OFDM symbols of QPSK pilots on every subcarrier
(Sionna's ``"kronecker"`` pattern on a ``ResourceGrid`` of S + P OFDM symbols), and every user
observes the whole grid through its own channel, y_k = h_k * x + n_k. Each user estimates h_k on
every resource element with

The pilots are drawn once from a fixed seed (:func:`kronecker_pilots`).

- ``ls``: Sionna's ``LSChannelEstimator`` (y / p at the pilots, error variance N0 / |p|^2 = N0),
  interpolated to the data by ``nn``, ``lin`` or ``lin_time_avg``;
- ``lmmse``: Sionna's ``LMMSEChannelEstimator`` (frequency then time filtering) with the
  channel's time and frequency covariances. They are computed from the channel model itself, as
  the average of h h^H over ``pilots.covariance_draws`` draws of the link's sampler (a fixed
  seed): one rule for every channel kind, equal to the model's covariance in expectation.

Both return the estimate and its error variance on every resource element; the link equalises
with the estimate and adds the error variance to the noise (Es = 1), which is what Sionna's
equalisers do with imperfect CSI.

Users are Sionna's receivers (num_rx = K, one antenna each), the base station its single
transmitter with one stream. Shapes: B batch, K users, T = S + P OFDM symbols, L subcarriers.
"""

from __future__ import annotations

import numpy as np
import torch
from sionna.phy.ofdm import (
    LMMSEChannelEstimator,
    LSChannelEstimator,
    PilotPattern,
    ResourceGrid,
    ResourceGridMapper,
)

from .config import LinkConfig
from .rng import make_generator

__all__ = ["PilotEstimator"]


class PilotEstimator:
    """Pilots of one slot and the estimator ``config.estimation`` names.

    :param config: the link (``estimation`` is ``ls`` or ``lmmse``; ``pilots`` its pilot symbols).
    :param sampler: the link's channel sampler over T = S + P OFDM symbols; called with a batch
        size and a generator, it returns complex (B, K, T, L) (used for LMMSE's covariances).
    """

    def __init__(self, config: LinkConfig, sampler, device: str = "cpu"):
        if config.estimation not in ("ls", "lmmse"):
            raise ValueError(f"estimation = {config.estimation!r}: a PilotEstimator estimates with 'ls' or 'lmmse'")
        grid = config.grid
        S, P, L = grid.num_ofdm_symbols, config.pilots.num_symbols, grid.num_subcarriers
        self.pilot_rows = config.pilots.indices(S)
        self.data_rows = [t for t in range(S + P) if t not in self.pilot_rows]
        self.resource_grid = ResourceGrid(
            num_ofdm_symbols=S + P, fft_size=L, subcarrier_spacing=grid.subcarrier_spacing_hz, num_tx=1,
            num_streams_per_tx=1, pilot_pattern=kronecker_pilots(S + P, L, self.pilot_rows, device), device=device,
        )  # fmt: skip
        # the pilots where Sionna's mapper puts them: complex (T, L), zero on the data symbols
        mapper = ResourceGridMapper(self.resource_grid, device=device)
        empty = torch.zeros(1, 1, 1, self.resource_grid.num_data_symbols, dtype=torch.complex64, device=device)
        self.pilot_grid = mapper(empty).reshape(S + P, L)
        # pilot REs in the order Sionna's estimators read them (flattened (T, L) positions)
        self._pilot_positions = torch.nonzero(self.resource_grid.pilot_pattern.mask.reshape(-1)).reshape(-1).to(device)
        self._filters: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}
        if config.estimation == "ls":
            self.estimator = LSChannelEstimator(self.resource_grid, interpolation_type=config.pilots.interpolation, device=device)
        else:
            cov_time, cov_freq = channel_covariances(sampler, config.pilots.covariance_draws, device)
            self.estimator = LMMSEChannelEstimator(self.resource_grid, cov_time, cov_freq, order="f-t", device=device)

    def frame(self, data: torch.Tensor) -> torch.Tensor:
        """The slot's transmitted grid: complex (B, T, L), the data grid (B, S, L) on the data
        symbols and the pilots on the pilot symbols."""
        B, S, L = data.shape
        full = self.pilot_grid.expand(B, -1, -1).clone()
        full[:, self.data_rows] = data
        return full

    #: Distinct noise variances in one call up to which LMMSE uses the probed filters.
    MAX_FILTERED_NOISE_LEVELS = 64
    #: Bytes of probed LMMSE filters kept between calls (oldest dropped first).
    FILTER_CACHE_BYTES = 256 * 2**20

    def estimate(self, y: torch.Tensor, no: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h_hat complex (B, K, T, L), error variance float32 (B, K, T, L)) from each user's
        received grid y complex (B, K, T, L) and noise variance ``no`` float32 (B, K, 1, 1)."""
        B, K, T, L = y.shape
        no = no.reshape(B, K).expand(B, K)
        if isinstance(self.estimator, LMMSEChannelEstimator):
            levels, which = torch.unique(no, return_inverse=True)
            if len(levels) <= self.MAX_FILTERED_NOISE_LEVELS:
                return self._lmmse_by_filter(y, levels.tolist(), which)
        h_hat, err_var = self.estimator(y.reshape(B, K, 1, T, L), no.reshape(B, K, 1))
        return h_hat.reshape(B, K, T, L), err_var.reshape(B, K, T, L).float()

    def _lmmse_by_filter(self, y: torch.Tensor, levels: list[float], which: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sionna's LMMSE estimate as one matrix product per noise variance.

        Why: Sionna's ``LMMSEChannelEstimator`` rebuilds its filters (Cholesky factorisations and
        triangular solves) for every batch element, about 95% of a coded chain's time on a CPU.
        The estimate is linear in the pilot observations and its filters depend on ``no`` only,
        so the filter is probed once per ``no``: Sionna's estimator applied to the unit pilot
        observations (one per pilot RE) gives its columns, F (pilot REs, T, L), and every
        user's estimate is then y_pilots @ F, with the error variance of that same call.
        Filters are kept across calls (``FILTER_CACHE_BYTES``), so training at SNRs drawn from a
        grid probes each level once.

        :param levels: the distinct noise variances; ``which`` int64 (B, K) indexes them per user.
        """
        B, K, T, L = y.shape
        observed = y.reshape(B * K, T * L)[:, self._pilot_positions]
        if len(levels) == 1:
            columns, err_var = self._filter(levels[0], y.device)
            h_hat = torch.einsum("nj,jtl->ntl", observed, columns)
            return h_hat.reshape(B, K, T, L), err_var.expand(B, K, T, L)
        which = which.reshape(-1)
        h_hat = torch.empty(B * K, T, L, dtype=y.dtype, device=y.device)
        err_var = torch.empty(B * K, T, L, dtype=torch.float32, device=y.device)
        for level, no in enumerate(levels):
            users = torch.nonzero(which == level).reshape(-1)
            columns, err = self._filter(no, y.device)
            h_hat[users] = torch.einsum("nj,jtl->ntl", observed[users], columns)
            err_var[users] = err
        return h_hat.reshape(B, K, T, L), err_var.reshape(B, K, T, L)

    def _filter(self, no: float, device) -> tuple[torch.Tensor, torch.Tensor]:
        """The probed LMMSE filter at noise variance ``no``: (columns complex64 (pilot REs, T, L),
        error variance float32 (T, L)), from the cache or one call of Sionna's estimator."""
        if no in self._filters:
            return self._filters[no]
        T, L = self.pilot_grid.shape
        pilots = len(self._pilot_positions)
        probe = torch.zeros(pilots, T * L, dtype=torch.complex64, device=device)
        probe[torch.arange(pilots), self._pilot_positions] = 1
        h, err = self.estimator(probe.reshape(pilots, 1, 1, T, L), torch.full((pilots, 1, 1), no, device=device))
        entry = (h.reshape(pilots, T, L), err.reshape(pilots, T, L)[0].float())
        size = entry[0].numel() * entry[0].element_size()
        while self._filters and size * (len(self._filters) + 1) > self.FILTER_CACHE_BYTES:
            del self._filters[next(iter(self._filters))]  # the oldest
        self._filters[no] = entry
        return entry


def kronecker_pilots(num_symbols: int, num_subcarriers: int, rows: list[int], device: str = "cpu", seed: int = 0) -> PilotPattern:
    """Sionna's Kronecker layout for one transmitter and stream (every subcarrier of the pilot
    OFDM symbols ``rows``) with unit-energy QPSK pilots drawn from ``seed``.

    Sionna's ``KroneckerPilotPattern`` draws its pilots from Sionna's global random state, so two
    runs of one config would send different pilots; here they are a function of the seed.
    """
    mask = np.zeros((1, 1, num_symbols, num_subcarriers), dtype=bool)
    mask[..., rows, :] = True
    bits = np.random.default_rng(seed).integers(0, 2, (2, len(rows) * num_subcarriers))
    pilots = ((1 - 2 * bits[0]) + 1j * (1 - 2 * bits[1])) / np.sqrt(2)
    return PilotPattern(mask, pilots.astype(np.complex64).reshape(1, 1, -1), normalize=True, device=device)


def channel_covariances(sampler, draws: int, device: str = "cpu", seed: int = 20261127) -> tuple[torch.Tensor, torch.Tensor]:
    """(time covariance complex64 (T, T), frequency covariance complex64 (L, L)) of the channel
    model behind ``sampler``: E[h h^H] along OFDM symbols and along subcarriers, averaged over
    ``draws`` draws (every user, subcarrier and symbol of each draw), normalised to unit power."""
    h = sampler(max(1, draws), make_generator(seed, device)).to(torch.complex64)  # (D, K, T, L)
    power = h.abs().square().mean()
    freq = torch.einsum("dktl,dktm->lm", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[2]) / power
    time = torch.einsum("dktl,dksl->ts", h, h.conj()) / (h.shape[0] * h.shape[1] * h.shape[3]) / power
    return time, freq
