"""One benchmark suite for CPU and GPU: every benchmark, throughput vs batch, a ratio each, JSON and a plot.

``gscsim bench all --device cpu|cuda [--json FILE] [--plot FILE] [--smoke] [--compile]`` runs

========================  =========================================  ===================================
benchmark                 variants (the first is the subject)        ratio(s), in the same run
========================  =========================================  ===================================
``ldpc_decoder``          numba kernel (CPU), Sionna's decoder       numba / Sionna; on CUDA Sionna
                          (device; + ``torch.compile`` on CUDA)      compiled / eager, Sionna / numba
``coded_chain``           gscsim's OFDMALink (decoder auto), the     auto / sionna decoder, gscsim /
                          same with decoder = sionna, Sionna direct  Sionna direct (assembly cost)
``estimation``            the chain over TDL with LS, LMMSE and      LS / perfect, LMMSE / perfect
                          perfect CSI
``allocation``            numba greedy, NumPy greedy (K=8, L=1024)   numba / NumPy
``latency_optimiser``     phy.multicast.solve, SciPy SLSQP           solve / SLSQP
``nullspace_sampling``    DDNM+ (gscsim), diffusers DDIM             DDNM+ / DDIM (its overhead)
``sdm_synthesis``         SDM, guided (s = 1.5) and unguided         guided / unguided (CFG's cost)
``jscc_codec``            Swin-JSCC and DeepJSCC encode + decode     Swin-JSCC / DeepJSCC
========================  =========================================  ===================================

Throughput is items (information bits, images, draws, solves) per second of the median of
``--repeats`` timed calls after one warm-up call, the variants of a batch size taking turns call
by call (a slow spell of a shared machine then hits them alike); on CUDA every timed call is
bracketed by CUDA events and synchronised (``torch.cuda.Event(enable_timing=True)``). Per point: the median
seconds, the throughput and the peak memory (CUDA: ``torch.cuda.max_memory_allocated`` of the
timed calls; CPU: the process's peak resident set so far, which only grows). On CUDA the torch
variants are also run on the host CPU at the smallest batch (the ``cuda / cpu`` ratio) and those
whose model can be wrapped in ``torch.compile`` (``Variant.compilable``: the U-Nets, the codecs,
Sionna's decoder) also compiled (``compiled / eager``); ``--compile`` does the latter on CPU
too (inductor needs a C++ compiler and minutes of compilation).

``--smoke`` runs tiny sizes (the test suite checks the JSON schema with it). JSON schema
``gscsim-bench/1``: ``{"schema", "date", "device", "smoke", "machine": {...}, "benchmarks":
[{"name", "unit", "description", "points": [{"variant", "device", "batch", "seconds",
"throughput", "peak_memory_mb", "memory_kind"}], "ratios": [{"name", "batch", "value"}]}]}``.

Run: ``gscsim bench all --device cpu --json results/bench/cpu.json`` (the plot goes next to it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

#: Takes ``--device`` (``gscsim bench all --device cuda`` passes it on).
USES_DEVICE = True
SCHEMA = "gscsim-bench/1"

#: A variant's factory: (batch, device, compiled) -> (the call to time, items it processes per call);
#: ``compiled``: its torch model(s) wrapped in ``torch.compile``.
Factory = Callable[[int, str, bool], tuple[Callable[[], object], float]]


@dataclass
class Variant:
    """One implementation measured in a benchmark.

    :param where: ``device`` (the suite's device) or ``cpu`` (a CPU implementation, run on CPU).
    :param torch_model: a torch path: on CUDA also run on the host CPU (the ``cuda / cpu`` ratio).
    :param compilable: its factory honours ``compiled`` (``torch.compile`` of its model): on CUDA,
        and on CPU with ``--compile``, also measured compiled (the ``compiled / eager`` ratio).
    """

    name: str
    factory: Factory
    where: str = "device"
    torch_model: bool = False
    compilable: bool = False


@dataclass
class Benchmark:
    """One benchmark: its variants, the ratios it reports, and its batch sizes per mode."""

    name: str
    unit: str
    description: str
    variants: list[Variant]
    #: (numerator, denominator) variant names: their throughput ratio at every common batch
    ratios: list[tuple[str, str]]
    batches: dict[str, list[int]] = field(default_factory=dict)  # "smoke", "cpu", "cuda"


# --- timing -------------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_call(fn: Callable[[], object], device: str) -> float:
    """Seconds of one call of ``fn`` (CUDA: between two CUDA events, then synchronised)."""
    if device.startswith("cuda"):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / 1e3
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def _peak_memory(device: str) -> tuple[float, str]:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10, "process_peak_rss"


# --- the benchmarks -------------------------------------------------------------------------

K_INFO, N_CODED, BITS_PER_SYMBOL, ITERATIONS, EBNO_DB = 512, 1024, 4, 20, 3.0


def _ldpc(kind: str) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from sionna.phy.fec.ldpc import LDPC5GDecoder

        from phy.ldpc_numba import NumbaLDPC5GDecoder

        from .phy import _llrs

        encoder, llr = _llrs(batch)
        if kind == "numba":
            decoder = NumbaLDPC5GDecoder(encoder, num_iter=ITERATIONS)
        else:
            from sionna.phy.fec.ldpc import LDPC5GEncoder

            encoder = LDPC5GEncoder(K_INFO, N_CODED, num_bits_per_symbol=BITS_PER_SYMBOL, device=device)
            decoder = LDPC5GDecoder(encoder, num_iter=ITERATIONS, hard_out=True, device=device)
            llr = llr.to(device)
            if compiled:
                decoder = torch.compile(decoder)

        def run():
            with torch.no_grad():
                return decoder(llr)

        return run, batch * K_INFO / 1e6

    return make


def _chain(kind: str) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from .phy_throughput import gscsim_chain, sionna_chain

        if kind == "sionna-direct":
            run, bits = sionna_chain(batch, device)
        else:
            run, bits = gscsim_chain(batch, device, decoder=kind, compile=compiled)
        return run, bits / 1e6

    return make


def _estimation(kind: str) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from phy import (
            CodeConfig,
            GridConfig,
            LinkConfig,
            OFDMALink,
            channel_config,
            make_generator,
        )

        users = 4
        config = LinkConfig(
            modulation="16qam", code=CodeConfig(k=K_INFO, n=N_CODED, bp_iterations=ITERATIONS),
            grid=GridConfig(num_subcarriers=16 * users, num_users=users, num_ofdm_symbols=16),
            channel=channel_config("tdl", tdl_model="A", delay_spread_s=100e-9, max_speed_mps=10.0), estimation=kind,
        )  # fmt: skip
        link = OFDMALink(config, device=device)
        slots = max(1, batch // users)
        g = make_generator(0, device)

        def run():
            with torch.no_grad():
                return link(link.random_bits(slots, g), 10.0, g)

        return run, slots * users * K_INFO / 1e6

    return make


def _allocation(kind: str) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from phy.allocation import allocate_greedy, allocate_numpy

        gains = np.random.default_rng(0).exponential(size=(batch, 8, 1024))
        allocate = allocate_greedy if kind == "numba" else allocate_numpy
        return (lambda: allocate(gains, 128)), batch

    return make


def _latency(kind: str, users: int) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from phy.multicast import solve, solve_slsqp

        from .latency_opt import instance

        problems = [instance("disjoint", users, np.random.default_rng(i)) for i in range(batch)]
        solver = solve if kind == "solve" else solve_slsqp
        return (lambda: [solver(p) for p in problems]), batch

    return make


def _nullspace(kind: str, steps: int) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from diffusers import DDIMScheduler

        from bridges.transmit import BridgeConfig, ImageLink
        from phy import GridConfig, LinkConfig, channel_config, make_generator
        from semantic.data import sample_images
        from semantic.pretrained import DEFAULT_DIFFUSION, load_diffusion
        from semantic.receivers.nullspace import NullSpaceConfig, null_space_sample

        unet, scheduler = load_diffusion(DEFAULT_DIFFUSION, device)
        size = unet.config.sample_size
        if compiled:
            unet = torch.compile(unet)
        pairs = max(1, batch // 2)
        images = sample_images(size, 2 * pairs).reshape(pairs, 2, 3, size, size)
        link = LinkConfig(grid=GridConfig(num_users=2, num_ofdm_symbols=16), channel=channel_config("rayleigh_iid"))
        rx = ImageLink(link, BridgeConfig(nm_ratio=0.6), (3, size, size), device)(images, 10.0, make_generator(0, device))
        scheduler.set_timesteps(steps)
        if kind == "ddnm+":
            config = NullSpaceConfig(steps=steps, sampler="ddim", eta=0.85, compile=compiled)

            def run():
                return null_space_sample(unet, scheduler.alphas_cumprod, scheduler.timesteps, rx.operator, rx.y,
                                         make_generator(1, device), config, rx.noise_std)  # fmt: skip
        else:
            ddim = DDIMScheduler.from_config(scheduler.config)
            ddim.set_timesteps(steps)

            @torch.no_grad()
            def run():
                g = make_generator(1, device)
                x = torch.randn(2 * pairs, 3, size, size, generator=g, device=device)
                for t in ddim.timesteps:
                    x = ddim.step(unet(x, t).sample, t, x, eta=0.85, generator=g).prev_sample
                return x

        return run, 2 * pairs

    return make


def _sdm(scale: float, steps: int) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from phy import make_generator
        from semantic.intents import one_hot
        from semantic.pretrained import load_pretrained
        from semantic.receivers.sdm import SemanticUNet, guided_sample

        model = load_pretrained("camvid-sdm-32", SemanticUNet, device)
        classes = model.config["label_channels"] - 1
        if compiled:
            model.forward = torch.compile(model.forward)  # keeps model.config for guided_sample
        labels = torch.randint(0, classes, (batch, 32, 32), generator=torch.Generator().manual_seed(0))
        label_map = one_hot(labels, classes).to(device)
        return (lambda: guided_sample(model, label_map, make_generator(0, device), scale=scale, steps=steps)), batch

    return make


def _jscc(name: str) -> Factory:
    def make(batch: int, device: str, compiled: bool):
        from semantic.data import sample_images
        from semantic.jscc import load_jscc

        codec = load_jscc(name, device)
        images = sample_images(32, batch).to(device)
        if compiled:
            codec.encode, codec.decode = torch.compile(codec.encode), torch.compile(codec.decode)

        @torch.no_grad()
        def run():
            return codec.decode(codec.encode(images), 32, 32)

        return run, batch

    return make


def benchmarks(smoke: bool) -> list[Benchmark]:
    """The suite; ``smoke`` shrinks the per-call work (steps, users) as well as the batches."""
    steps = 2 if smoke else 50
    users = 4 if smoke else 10
    return [
        Benchmark(
            "ldpc_decoder", "Mbit/s", f"5G LDPC ({N_CODED}, {K_INFO}), {ITERATIONS} flooding iterations, boxplus-phi, "
            "16-QAM LLRs at Eb/N0 3 dB; information bits per second",
            [Variant("numba", _ldpc("numba"), where="cpu"), Variant("sionna", _ldpc("sionna"), torch_model=True, compilable=True)],
            [("numba", "sionna")],
            {"smoke": [16, 32], "cpu": [64, 256, 1024], "cuda": [1024, 8192, 32768]},
        ),  # fmt: skip
        Benchmark(
            "coded_chain", "Mbit/s", "16-QAM + LDPC (1024, 512) over AWGN, app demapping, 20 iterations; gscsim's "
            "OFDMALink (4 users) and the chain written with Sionna's blocks; information bits per second",
            [Variant("gscsim", _chain("auto"), torch_model=True), Variant("gscsim-sionna-decoder", _chain("sionna"), compilable=True),
             Variant("sionna-direct", _chain("sionna-direct"))],
            [("gscsim", "gscsim-sionna-decoder"), ("gscsim-sionna-decoder", "sionna-direct")],
            {"smoke": [16, 32], "cpu": [64, 256, 1024], "cuda": [1024, 8192, 32768]},
        ),  # fmt: skip
        Benchmark(
            "estimation", "Mbit/s", "the coded chain of coded_chain over TDL-A (100 ns, 10 m/s, 16 data OFDM symbols, "
            "2 pilot symbols) with perfect CSI and with Sionna's LS and LMMSE estimators; information bits per second "
            "(issue 24: estimation may cost at most 20% of the chain, a ratio >= 0.83)",
            [Variant("ls", _estimation("ls"), torch_model=True), Variant("lmmse", _estimation("lmmse"), torch_model=True),
             Variant("perfect", _estimation("perfect"), torch_model=True)],
            [("ls", "perfect"), ("lmmse", "perfect")],
            {"smoke": [8, 16], "cpu": [64, 256, 1024], "cuda": [1024, 8192, 32768]},
        ),  # fmt: skip
        Benchmark(
            "allocation", "draws/s", "greedy subcarrier allocation, K = 8 users, L = 1024 subcarriers, "
            "i.i.d. Rayleigh gains; Monte-Carlo draws per second",
            [Variant("numba", _allocation("numba"), where="cpu"), Variant("numpy", _allocation("numpy"), where="cpu")],
            [("numba", "numpy")],
            {"smoke": [2, 4], "cpu": [8, 32, 128], "cuda": [8, 32, 128]},
        ),  # fmt: skip
        Benchmark(
            "latency_optimiser", "solves/s", f"multicast latency problem (8), K = {users} users with disjoint "
            "intents, Table II budget; problems solved per second",
            [Variant("solve", _latency("solve", users), where="cpu"), Variant("slsqp", _latency("slsqp", users), where="cpu")],
            [("solve", "slsqp")],
            {"smoke": [1, 2], "cpu": [1, 4, 16], "cuda": [1, 4, 16]},
        ),  # fmt: skip
        Benchmark(
            "nullspace_sampling", "images/s", f"camvid-ddpm-32, {steps} DDIM steps (eta 0.85); DDNM+ through a K = 2 "
            "OFDMA reception (N/M = 0.6, Rayleigh, 10 dB) vs diffusers' plain DDIM loop; images per second",
            [Variant("ddnm+", _nullspace("ddnm+", steps), torch_model=True, compilable=True),
             Variant("ddim", _nullspace("ddim", steps), torch_model=True, compilable=True)],
            [("ddnm+", "ddim")],
            {"smoke": [2, 4], "cpu": [4, 16, 32], "cuda": [16, 64, 256]},
        ),  # fmt: skip
        Benchmark(
            "sdm_synthesis", "images/s", f"camvid-sdm-32 (SPADE U-Net), {steps} DDIM steps, from random 11-class "
            "label maps; classifier-free guidance s = 1.5 (two passes per step) vs s = 1; images per second",
            [Variant("guided", _sdm(1.5, steps), torch_model=True, compilable=True),
             Variant("unguided", _sdm(1.0, steps), torch_model=True, compilable=True)],
            [("guided", "unguided")],
            {"smoke": [2, 4], "cpu": [4, 16, 32], "cuda": [16, 64, 256]},
        ),  # fmt: skip
        Benchmark(
            "jscc_codec", "images/s", "encode + decode of 32 x 32 images, shipped codecs at ratio 1/6 "
            "(swinjscc-awgn-1_6, deepjscc-awgn-1_6); images per second",
            [Variant("swinjscc", _jscc("swinjscc-awgn-1_6"), torch_model=True, compilable=True),
             Variant("deepjscc", _jscc("deepjscc-awgn-1_6"), torch_model=True, compilable=True)],
            [("swinjscc", "deepjscc")],
            {"smoke": [2, 4], "cpu": [16, 64, 256], "cuda": [64, 256, 1024]},
        ),  # fmt: skip
    ]


# --- running -------------------------------------------------------------------------------


def _machine(device: str) -> dict:
    import numba
    import sionna

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {
        "cpu": cpu, "cpu_count": __import__("os").cpu_count(), "torch_threads": torch.get_num_threads(),
        "numba_threads": numba.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__,
        "sionna": sionna.__version__, "numba": numba.__version__,
    }  # fmt: skip
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def measure_batch(runs: list[tuple[str, Variant, str, bool]], batch: int, repeats: int) -> list[dict]:
    """Points of every (label, variant, device, compiled) run at one batch size.

    Each is built and called once (warm-up: compilation, allocations), then the timed calls take
    turns, run after run, ``repeats`` times, so that a slow spell of a shared machine falls on
    all of them alike and the ratios stay fair; a point's time is the median of its calls.
    """
    built = []
    for label, variant, device, compiled in runs:
        fn, items = variant.factory(batch, device, compiled)
        fn()
        _sync(device)
        built.append((label, fn, items, device))
    seconds = {label: [] for label, *_ in built}
    memory = {}
    for _ in range(repeats):
        for label, fn, _, device in built:
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            seconds[label].append(timed_call(fn, device))
            memory[label] = max(memory.get(label, 0.0), _peak_memory(device)[0])
    points = []
    for label, _, items, device in built:
        median = float(np.median(seconds[label]))
        points.append({"variant": label, "device": device, "batch": batch, "seconds": median,
                       "throughput": items / median, "peak_memory_mb": memory[label],
                       "memory_kind": _peak_memory(device)[1]})  # fmt: skip
    return points


def run_benchmark(bench: Benchmark, device: str, smoke: bool, repeats: int, compile_models: bool, log=print) -> dict:
    """Every variant at every batch, the extra CUDA points, and the ratios."""
    batches = bench.batches["smoke" if smoke else ("cuda" if device.startswith("cuda") else "cpu")]
    on_cuda = device.startswith("cuda")
    points = []
    for batch in batches:
        runs = []
        for variant in bench.variants:
            where = "cpu" if variant.where == "cpu" else device
            runs.append((variant.name, variant, where, False))
            if variant.torch_model and on_cuda and batch == batches[0]:  # the host CPU, at the smallest batch
                runs.append((f"{variant.name} @cpu", variant, "cpu", False))
            if variant.compilable and (compile_models or on_cuda) and variant.where != "cpu":
                runs.append((f"{variant.name} compiled", variant, where, True))
        points += measure_batch(runs, batch, repeats)
        for p in points[-len(runs) :]:
            log(f"  {bench.name:<19} {p['variant']:<24} {p['device']:<6} batch {batch:>6}: "
                f"{p['throughput']:10.4g} {bench.unit}")  # fmt: skip
    ratios = []
    by = {(p["variant"], p["batch"]): p["throughput"] for p in points}
    pairs = list(bench.ratios)
    pairs += [(f"{v.name} compiled", v.name) for v in bench.variants if (f"{v.name} compiled", batches[0]) in by]
    pairs += [(v.name, f"{v.name} @cpu") for v in bench.variants if (f"{v.name} @cpu", batches[0]) in by]
    for top, bottom in pairs:
        for batch in batches:
            if (top, batch) in by and (bottom, batch) in by:
                ratios.append({"name": f"{top} / {bottom}", "batch": batch, "value": by[top, batch] / by[bottom, batch]})
    return {"name": bench.name, "unit": bench.unit, "description": bench.description, "points": points, "ratios": ratios}


def plot(results: dict, path: Path) -> None:
    """Throughput vs batch, one panel per benchmark, one line per variant (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = results["benchmarks"]
    cols = 4
    rows = math.ceil(len(benches) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, bench in zip(axes.flat, benches):
        variants = dict.fromkeys(p["variant"] for p in bench["points"])
        for name in variants:
            pts = sorted((p["batch"], p["throughput"]) for p in bench["points"] if p["variant"] == name)
            ax.plot(*zip(*pts), marker="o", label=name)
        ax.set(xscale="log", yscale="log", title=bench["name"], xlabel="batch", ylabel=bench["unit"])
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[len(benches) :]:
        ax.axis("off")
    fig.suptitle(f"gscsim bench all --device {results['device']} ({results['date']}, "
                 f"{results['machine'].get('gpu', results['machine']['cpu'])})", fontsize=9)  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def validate(results: dict) -> None:
    """Raise ValueError where ``results`` does not follow the schema (module docstring)."""
    for key in ("schema", "date", "device", "smoke", "machine", "benchmarks"):
        if key not in results:
            raise ValueError(f"bench results: missing key {key!r}")
    if results["schema"] != SCHEMA:
        raise ValueError(f"bench results: schema {results['schema']!r}, expected {SCHEMA!r}")
    for bench in results["benchmarks"]:
        if not bench["ratios"]:
            raise ValueError(f"benchmark {bench['name']}: no ratio")
        for p in bench["points"]:
            if not (p["seconds"] > 0 and math.isfinite(p["throughput"]) and p["throughput"] > 0):
                raise ValueError(f"benchmark {bench['name']}, {p['variant']} at {p['batch']}: bad timing {p}")
        for r in bench["ratios"]:
            if not (math.isfinite(r["value"]) and r["value"] > 0):
                raise ValueError(f"benchmark {bench['name']}: bad ratio {r}")


def run_suite(device: str, smoke: bool = False, repeats: int = 3, only: list[str] | None = None,
              compile_models: bool = False, log=print) -> dict:  # fmt: skip
    """The suite's results (schema in the module docstring)."""
    suite = benchmarks(smoke)
    known = [b.name for b in suite]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise ValueError(f"--only: unknown benchmark(s) {', '.join(unknown)}; expected some of {', '.join(known)}")
    results = {
        "schema": SCHEMA, "date": datetime.datetime.now().isoformat(timespec="seconds"), "device": device,
        "smoke": smoke, "repeats": repeats, "machine": _machine(device), "benchmarks": [],
    }  # fmt: skip
    for bench in suite:
        if only and bench.name not in only:
            continue
        results["benchmarks"].append(run_benchmark(bench, device, smoke, repeats, compile_models, log))
        for r in results["benchmarks"][-1]["ratios"]:
            log(f"  {bench.name:<19} ratio {r['name']:<40} batch {r['batch']:>6}: {r['value']:.3g}")
    validate(results)
    return results


def main(argv: list[str] | None = None) -> None:
    """Command line (module docstring)."""
    from phy.rng import resolve_device

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="cpu, cuda, auto (default)")
    parser.add_argument("--json", type=Path, help="write the results here (default results/bench/<device>.json)")
    parser.add_argument("--plot", type=Path, help="throughput-vs-batch figure (default: the JSON's path, .png)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--repeats", type=int, help="timed calls per point (default 3; smoke 1)")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--compile", action="store_true", help="also torch.compile the torch models on CPU")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    repeats = args.repeats or (1 if args.smoke else 3)
    if repeats < 1:
        raise SystemExit(f"--repeats must be >= 1; got {repeats}")
    only = args.only.split(",") if args.only else None
    try:
        results = run_suite(device, args.smoke, repeats, only, args.compile)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    path = args.json or Path("results/bench") / f"{device.split(':')[0]}{'-smoke' if args.smoke else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    figure = args.plot or path.with_suffix(".png")
    plot(results, figure)
    print(f"wrote {path} and {figure}")


if __name__ == "__main__":
    main()
