"""The little PromQL reader the other checks rely on."""

from tests.deploy.support import base_name, metric_names


def test_names_without_functions_labels_and_grouping() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, endpoint) (rate(ytcs_http_request_duration_seconds_bucket"
        '{job=~"ytcs-.*", status!="500"}[$__rate_interval])))'
    )
    assert metric_names(expr) == {"ytcs_http_request_duration_seconds_bucket"}


def test_recorded_names_binary_operators_and_on() -> None:
    expr = (
        "ytcs:capitation_spend_ratio > 0.9 and on(quarter) (max by (quarter) "
        '(ytcs_capitation_quarter_end_timestamp_seconds) > time()) or vector(0) unless absent(up{job="x"})'
    )
    assert metric_names(expr) == {
        "ytcs:capitation_spend_ratio",
        "ytcs_capitation_quarter_end_timestamp_seconds",
        "up",
    }


def test_offset_and_bool_are_not_metrics() -> None:
    assert metric_names("rate(a_total[5m] offset 1h) > bool 2 * b") == {"a_total", "b"}


def test_base_name() -> None:
    assert base_name("ytcs_rpc_duration_seconds_bucket") == "ytcs_rpc_duration_seconds"
    assert base_name("ytcs_rpc_requests_total") == "ytcs_rpc_requests_total"
