"""Toy methods for the engine tests (imported as a scenario plugin)."""

import time

import torch
from pydantic import Field

from phy.config import StrictModel
from phy.stats import ClusteredCount
from sims.registry import Metric, register_method


class ToyOptions(StrictModel):
    scale: float = 1.0
    samples: int = Field(8, gt=0)
    sleep_s: float = Field(0.0, ge=0)


@register_method("toy", metrics=[Metric("value"), Metric("first_draw")], options=ToyOptions, axes={"snr_db", "x"})
def toy(ctx):
    """value = scale * (x or snr) + noise, per sample; first_draw exposes the point's stream."""
    opts = ctx.options
    if opts.sleep_s:
        time.sleep(opts.sleep_s)
    noise = torch.randn(opts.samples, generator=ctx.generator)
    level = float(ctx.point.get("x", ctx.point.get("snr_db", 0.0)))
    users = ctx.config.link.grid.num_users
    return {"value": (opts.scale * level * users + noise).tolist(), "first_draw": float(noise[0])}


class CountOptions(StrictModel):
    early_stop: bool = True


@register_method(
    "toy_rate",
    metrics=[Metric("err", "rate", log_scale=True)],
    options=CountOptions,
    axes={"snr_db"},
    extra_columns=("note",),
    stops_line=lambda row, opts: opts.early_stop and int(row["err_errors"]) == 0,
)
def toy_rate(ctx):
    """Error counts that vanish from snr_db >= 10 on (deterministic given the stream)."""
    p = max(0.0, 0.3 - 0.03 * float(ctx.point["snr_db"]))
    errors = (torch.rand(50, 20, generator=ctx.generator) < p).sum(dim=1)
    count = ClusteredCount()
    count.add(int(errors.sum()), 1000, 50, int(errors.square().sum()))
    return {"err": count, "note": f"p={p:.2f}"}
