"""Intent-aware generative multicasting: the latency model and its power/rate optimisers.

Liu et al., "Communicate Less, Synthesize the Rest" (Section II-B/C, III):

- :class:`MulticastProblem` (problem.py): users' channel gains, intents, the
  budget, bands, image sizes, generation latency, requirements and the
  rate-distortion/perception curves; per-user latencies T_k, the compression
  summary (r*, |b|);
- :func:`solve` (schemes.py): the optimum of problem (8): the exact structure
  (exact.py: common-latency bisection, or nested bisection for disjoint
  intents), a structured SQP with numba inner loops (sqp.py, qp.py) for
  general curves and overlapping intents, SciPy SLSQP as the reference
  (reference.py);
- NGM / FGM benchmark schemes (schemes.py), Monte-Carlo channel draws and
  intent patterns (draws.py).

``phy`` does not import ``semantic``: measured curves come in as
:class:`RateCurve` objects.
"""

from .allocation import MulticastAllocation
from .curves import (
    PAPER_DISTORTION,
    PAPER_PERCEPTION,
    ExpCurve,
    RateCurve,
    fit_exp_curve,
    min_rate,
)
from .draws import channel_gains, intent_matrix, noise_psd_w_hz
from .exact import solve_exact
from .problem import MulticastProblem, spectral_efficiency, stream_latency
from .reference import solve_slsqp
from .schemes import (
    fgm_latencies,
    fgm_rate,
    ngm_latencies,
    ngm_rate,
    single_stream_spectral_efficiency,
    solve,
)
from .sqp import kkt_residuals, solve_sqp

__all__ = [
    "PAPER_DISTORTION",
    "PAPER_PERCEPTION",
    "ExpCurve",
    "MulticastAllocation",
    "MulticastProblem",
    "RateCurve",
    "channel_gains",
    "fgm_latencies",
    "fgm_rate",
    "fit_exp_curve",
    "intent_matrix",
    "kkt_residuals",
    "min_rate",
    "ngm_latencies",
    "ngm_rate",
    "noise_psd_w_hz",
    "single_stream_spectral_efficiency",
    "solve",
    "solve_exact",
    "solve_slsqp",
    "solve_sqp",
    "spectral_efficiency",
    "stream_latency",
]
