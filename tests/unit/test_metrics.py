"""The API's result counter: the child remembered per operation and code is the registry's."""

from __future__ import annotations

from openisales.metrics import Metrics


def test_an_api_result_counts_in_the_registry_under_its_labels() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.api_result("call_busi_result", "0200000").inc()
    metrics.api_result("call_busi_result", "0200033").inc()
    metrics.api_results.labels("call_busi_result", "0200000").inc()  # the same child
    value = metrics.registry.get_sample_value
    ok = {"operation": "call_busi_result", "result_code": "0200000"}
    missing = {"operation": "call_busi_result", "result_code": "0200033"}
    assert value("openisales_api_results_total", ok) == 4
    assert value("openisales_api_results_total", missing) == 1
    # another process's metrics (another registry) keep their own children
    assert Metrics().api_result("call_busi_result", "0200000") is not metrics.api_result(
        "call_busi_result", "0200000"
    )
