"""The latency model of intent-aware generative multicasting (Liu et al., Section II-B/C).

A transmitter sends one image X (|X| pixels, L semantic classes) to K users.
User k wants the classes in row k of the intent matrix I (K x L, bool):

- stream 0 multicasts the compressed semantic map to every user over band B0
  with power p0 at r0 bits per pixel of X (|b0| = |X| r0 bits);
- every class l that some user wants is sent over its own band B_l with power
  p_l at r_l bits per pixel of the average class size |Xbar| (|b_l| = |Xbar| r_l);
  classes no user wants are not sent.

With the single-link spectral efficiency ``SE = log2(1 + p |h_k|^2 / (B N0))`` and
rate ``R = B SE`` (eqs. (5)-(6)), stream j reaches user k after ``T_kj = |b_j| / R_kj``. User k can
show its image once it has synthesised the rest from the map (generation
time T_g) and decoded all its classes:

    T_k = max(T_g + T_k0, max_{l : I_kl} T_kl)

Problem (8): minimise sum_k T_k over (p0, p_l, r0, r_l) subject to
p0 + sum_l p_l <= P_T, Phi_r(r_l) <= eps_r, Phi_s(r0) <= eps_s.

Units are SI throughout: W, Hz, W/Hz, s, bits. Channel gains are linear power
gains |h_k|^2 (path loss times small-scale fading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .curves import PAPER_DISTORTION, PAPER_PERCEPTION, RateCurve, min_rate

__all__ = ["MulticastProblem", "Streams", "spectral_efficiency", "stream_latency"]


def spectral_efficiency(power_w, bandwidth_hz, gain, noise_psd_w_hz):
    """The rate of eqs. (5)-(6) per Hz, bit/s/Hz: log2(1 + p |h|^2 / (B N0)), elementwise (NumPy
    broadcasting). The system's average spectral efficiency, eq. (11), is
    :meth:`MulticastProblem.spectral_efficiency`."""
    return np.log2(1.0 + np.asarray(power_w) * np.asarray(gain) / (np.asarray(bandwidth_hz) * noise_psd_w_hz))


def stream_latency(bits, power_w, bandwidth_hz, gain, noise_psd_w_hz):
    """Seconds to deliver ``bits`` at rate B SE; 0 for no bits, inf for no power."""
    bits = np.asarray(bits, dtype=np.float64)
    rate = np.asarray(bandwidth_hz) * spectral_efficiency(power_w, bandwidth_hz, gain, noise_psd_w_hz)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(bits > 0, bits / rate, 0.0)
    return t


@dataclass(frozen=True)
class Streams:
    """The streams actually sent: index 0 is the map, 1..J-1 the wanted classes.

    ``classes`` (J-1,) int: the class of each class stream; ``pixels`` (J,):
    |X| for the map, |Xbar| for classes; ``bandwidth_hz`` (J,); ``rows_user``,
    ``rows_stream`` (R,) int: the (user, stream) pairs that make up the
    latencies, map rows first (one per user), then class rows.
    """

    classes: np.ndarray
    pixels: np.ndarray
    bandwidth_hz: np.ndarray
    rows_user: np.ndarray
    rows_stream: np.ndarray

    @property
    def count(self) -> int:
        """Number of streams J (the map and the wanted classes)."""
        return len(self.pixels)


@dataclass(frozen=True)
class MulticastProblem:
    """One instance of problem (8).

    gains: (K,) float64 linear |h_k|^2; intents: (K, L) bool; eps_r: scalar or
    (L,) distortion requirement per class; eps_s: scalar or (K,) perception
    requirement per user (the map must meet the strictest one).
    """

    gains: np.ndarray
    intents: np.ndarray
    total_power_w: float = 0.1
    noise_psd_w_hz: float = 10 ** (-174 / 10) * 1e-3
    map_bandwidth_hz: float = 1e6
    class_bandwidth_hz: float | np.ndarray = 1e6
    image_pixels: int = 512 * 256
    class_pixels: float = 512 * 256 / 10
    generation_latency_s: float = 2e-3
    eps_r: float | np.ndarray = 0.02850
    eps_s: float | np.ndarray = 0.58705
    distortion: RateCurve = PAPER_DISTORTION
    perception: RateCurve = PAPER_PERCEPTION
    _streams: Streams | None = field(default=None, repr=False, compare=False)
    _map_rate: float = field(default=0.0, repr=False, compare=False)
    _class_rates: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        gains = np.asarray(self.gains, dtype=np.float64)
        intents = np.asarray(self.intents)
        if gains.ndim != 1 or gains.size == 0:
            raise ValueError(f"gains must be a non-empty (K,) array; got shape {gains.shape}")
        if not np.all(np.isfinite(gains)) or np.any(gains <= 0):
            raise ValueError("gains must be finite and > 0 (a user with no channel has no finite latency)")
        if intents.ndim != 2 or intents.shape[0] != gains.size:
            raise ValueError(f"intents must be (K, L) = ({gains.size}, L); got shape {intents.shape}")
        if intents.dtype != np.bool_ and not np.isin(intents, (0, 1)).all():
            raise ValueError("intents must hold 0/1 or booleans")
        intents = intents.astype(bool)
        K, L = intents.shape
        for name in ("total_power_w", "noise_psd_w_hz", "map_bandwidth_hz", "image_pixels", "class_pixels"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0; got {value}")
        if not (math.isfinite(self.generation_latency_s) and self.generation_latency_s >= 0):
            raise ValueError(f"generation_latency_s must be >= 0; got {self.generation_latency_s}")
        bw = np.broadcast_to(np.asarray(self.class_bandwidth_hz, dtype=np.float64), (L,)).copy() if L else np.zeros(0)
        if np.any(~np.isfinite(bw)) or np.any(bw <= 0):
            raise ValueError("class_bandwidth_hz must be finite and > 0")
        eps_r = _broadcast("eps_r", self.eps_r, L)
        eps_s = _broadcast("eps_s", self.eps_s, K)
        object.__setattr__(self, "gains", gains)
        object.__setattr__(self, "intents", intents)
        object.__setattr__(self, "class_bandwidth_hz", bw)
        object.__setattr__(self, "eps_r", eps_r)
        object.__setattr__(self, "eps_s", eps_s)
        # Infeasible requirements fail here, before any solver runs.
        object.__setattr__(self, "_map_rate", self._min_map_rate())
        object.__setattr__(self, "_class_rates", self._min_class_rates())
        object.__setattr__(self, "_streams", self._build_streams(self._class_rates))

    # -- sizes -------------------------------------------------------------
    @property
    def num_users(self) -> int:
        """K."""
        return self.intents.shape[0]

    @property
    def num_classes(self) -> int:
        """L (columns of the intent matrix)."""
        return self.intents.shape[1]

    @property
    def streams(self) -> Streams:
        """The streams actually sent (the map and every class some user wants)."""
        return self._streams

    # -- rates ---------------------------------------------------------------
    def required_map_rate(self) -> float:
        """r0 = Phi_s^-1(min_k eps_s): the least map rate every user's requirement allows."""
        return self._map_rate

    def required_class_rates(self) -> np.ndarray:
        """r_l = Phi_r^-1(eps_r[l]) for every class (L,); classes nobody wants included."""
        return self._class_rates.copy()

    def _min_map_rate(self) -> float:
        try:
            return min_rate(self.perception, float(self.eps_s.min()))
        except ValueError as err:
            raise ValueError(f"eps_s: {err}") from None

    def _min_class_rates(self) -> np.ndarray:
        # One inversion per distinct requirement (usually a single one).
        values, where = np.unique(self.eps_r, return_inverse=True)
        out = np.zeros(values.size)
        for l in range(values.size):
            try:
                out[l] = min_rate(self.distortion, float(values[l]))
            except ValueError as err:
                raise ValueError(f"eps_r: {err}") from None
        return out[where.reshape(-1)]

    def _build_streams(self, class_rates: np.ndarray) -> Streams:
        # A class whose requirement holds at rate 0 needs no bits and no stream.
        classes = np.flatnonzero(self.intents.any(axis=0) & (class_rates > 0)).astype(np.int64)
        pixels = np.concatenate([[float(self.image_pixels)], np.full(classes.size, float(self.class_pixels))])
        bandwidth = np.concatenate([[float(self.map_bandwidth_hz)], self.class_bandwidth_hz[classes]])
        K = self.num_users
        stream, user = np.nonzero(self.intents[:, classes].T)  # sorted by stream, then user
        rows_user = np.concatenate([np.arange(K), user]).astype(np.int64)
        rows_stream = np.concatenate([np.zeros(K, dtype=np.int64), stream + 1]).astype(np.int64)
        return Streams(classes, pixels, bandwidth, rows_user, rows_stream)

    def is_disjoint(self) -> bool:
        """True when no class is wanted by two users (the paper's non-overlapping intents)."""
        return bool(np.all(self.intents.sum(axis=0) <= 1))

    # -- latency ---------------------------------------------------------------
    def user_latencies(self, map_power_w, class_power_w, map_rate, class_rates) -> np.ndarray:
        """T_k (K,) in seconds for powers/rates of the map and of every class ((L,) arrays)."""
        class_power_w = np.asarray(class_power_w, dtype=np.float64)
        class_rates = np.asarray(class_rates, dtype=np.float64)
        N0 = self.noise_psd_w_hz
        t_map = self.generation_latency_s + stream_latency(
            self.image_pixels * map_rate, map_power_w, self.map_bandwidth_hz, self.gains, N0
        )
        t_class = stream_latency(
            self.class_pixels * class_rates[None, :],
            class_power_w[None, :],
            self.class_bandwidth_hz[None, :],
            self.gains[:, None],
            N0,
        )
        t_class = np.where(self.intents, t_class, 0.0)
        return np.maximum(t_map, t_class.max(axis=1, initial=0.0))

    def compression(self, rate_decimals: int | None = None) -> dict:
        """Rates at the requirements: r0, r_l (L,), the average compression rate r* (bpp of X) and |b|.

        Section II-C: r* = r0 + (|Xbar| / |X|) sum_l r_l over the classes sent, and
        |b| = |X| r0 + |Xbar| sum_l r_l = r* |X| (what the transmitter puts on the air per
        image). (The paper's text lost the bar: it reads |X| / |X|; every entry of Table III
        has the factor |Xbar| / |X| = 1/10.)

        ``rate_decimals``: Table III's convention. The paper rounds r0 and r_l to 5 decimals
        (Section III-C prints r_FGM = 0.45118, r_NGM = 0.65804) and floors |b| to whole bits;
        with ``rate_decimals = 5`` this gives all six |b| of Table III and five of its six r*
        to the printed digit. The sixth, K = 15, is printed 1.43823 where r0 + 1.5 r_l =
        1.43824: the printed value is |b| / |X| = 188512 / 131072 = 1.438232 (the table
        mixes the two; at K = 10, |b| / |X| = 1.109215 would not give the printed 1.10922).
        """
        r0 = self.required_map_rate()
        r = self.required_class_rates()
        if rate_decimals is not None:
            r0, r = round(r0, rate_decimals), np.round(r, rate_decimals)
        sent = self.streams.classes
        r_sum = float(r[sent].sum())
        bits = self.image_pixels * r0 + self.class_pixels * r_sum
        return {
            "map_rate": r0,
            "class_rates": r,
            "average_rate": r0 + self.class_pixels / self.image_pixels * r_sum,
            "bits": float(math.floor(bits)) if rate_decimals is not None else bits,
        }

    def spectral_efficiency(self, map_power_w: float, class_power_w: np.ndarray) -> float:
        """Eq. (11), bit/s/Hz: every user's rate on every stream it decodes, over the bands used,

            lambda = (sum_k R_k0 + sum_k sum_l I_kl R_kl) / (B0 + sum_{l sent} B_l),

        with R_kj = B_j log2(1 + p_j |h_k|^2 / (B_j N0)) (eqs. (5)-(6)) and ``class_power_w`` (L,).
        A multicast stream counts once per user that decodes it, so lambda grows with K.
        """
        s = self.streams
        power = np.concatenate([[map_power_w], np.asarray(class_power_w, dtype=np.float64)[s.classes]])
        rows_power, rows_band = power[s.rows_stream], s.bandwidth_hz[s.rows_stream]
        rates = rows_band * spectral_efficiency(rows_power, rows_band, self.gains[s.rows_user], self.noise_psd_w_hz)
        return float(rates.sum() / s.bandwidth_hz.sum())


def _broadcast(name: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
        raise ValueError(f"{name} must be a scalar or have {n} entries; got shape {arr.shape}")
    arr = np.broadcast_to(arr, (n,)).copy()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr
