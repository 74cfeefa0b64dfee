"""The benchmark suite (gscsim bench all): every benchmark runs, reports a ratio, and the JSON follows its schema."""

import json

import pytest

from sims.bench import suite


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    suite.main(["--device", "cpu", "--smoke", "--json", str(folder / "cpu.json")])
    return json.loads((folder / "cpu.json").read_text()), folder


def test_smoke_suite_writes_json_and_plot_with_a_ratio_per_benchmark(smoke_results):
    results, folder = smoke_results
    suite.validate(results)
    assert results["schema"] == suite.SCHEMA and results["device"] == "cpu" and results["smoke"]
    names = [b["name"] for b in results["benchmarks"]]
    assert names == [b.name for b in suite.benchmarks(smoke=True)]
    for bench in results["benchmarks"]:
        variants = {p["variant"] for p in bench["points"]}
        assert len(variants) >= 2 and len(bench["ratios"]) >= 2, bench["name"]
        for ratio in bench["ratios"]:  # a ratio is the quotient of two measured throughputs
            top, bottom = ratio["name"].split(" / ")
            rate = {(p["variant"], p["batch"]): p["throughput"] for p in bench["points"]}
            assert ratio["value"] == pytest.approx(rate[top, ratio["batch"]] / rate[bottom, ratio["batch"]])
        for point in bench["points"]:
            assert point["peak_memory_mb"] > 0 and point["memory_kind"] == "process_peak_rss"
    assert (folder / "cpu.png").stat().st_size > 10_000


def test_validate_rejects_a_benchmark_without_a_ratio(smoke_results):
    results = json.loads(json.dumps(smoke_results[0]))
    results["benchmarks"][0]["ratios"] = []
    with pytest.raises(ValueError, match="no ratio"):
        suite.validate(results)


def test_unknown_benchmark_is_refused_before_work():
    with pytest.raises(SystemExit, match="unknown benchmark"):
        suite.main(["--device", "cpu", "--smoke", "--only", "ldpc_decoder,warp_drive"])


@pytest.mark.cuda
def test_smoke_suite_on_cuda_measures_cpu_and_compiled_variants(tmp_path):
    results = suite.run_suite("cuda:0", smoke=True, repeats=1, only=["ldpc_decoder", "jscc_codec"], log=lambda *a: None)
    ratios = {r["name"] for b in results["benchmarks"] for r in b["ratios"]}
    assert {"sionna compiled / sionna", "sionna / sionna @cpu", "deepjscc compiled / deepjscc"} <= ratios


def test_compiled_runs_only_for_variants_that_honour_compile():
    """--compile (or CUDA) adds a compiled run for compilable variants on the suite's device only,
    and its ratio to eager; a CPU implementation or a variant that ignores compile gets none."""
    seen = []

    def factory(name):
        def make(batch, device, compiled):
            seen.append((name, compiled))
            return (lambda: None), batch

        return make

    bench = suite.Benchmark(
        "fake", "items/s", "bookkeeping only",
        [suite.Variant("model", factory("model"), torch_model=True, compilable=True),
         suite.Variant("plain", factory("plain"), torch_model=True),
         suite.Variant("kernel", factory("kernel"), where="cpu", compilable=True)],
        [("model", "plain")], {"smoke": [1, 2]},
    )  # fmt: skip
    result = suite.run_benchmark(bench, "cpu", smoke=True, repeats=1, compile_models=True, log=lambda *a: None)
    assert {name for name, compiled in seen if compiled} == {"model"}
    assert {r["name"] for r in result["ratios"]} == {"model / plain", "model compiled / model"}
    eager_only = suite.run_benchmark(bench, "cpu", smoke=True, repeats=1, compile_models=False, log=lambda *a: None)
    assert {r["name"] for r in eager_only["ratios"]} == {"model / plain"}
