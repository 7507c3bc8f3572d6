"""Metric checks judge green against blue from CloudWatch: per-target-group counts published with PutMetricData
during the release decide it, and the verdict's numbers are in `show`."""
import datetime

import pytest

from test_rollback import assert_back_on_blue, rollback_event, shifted, shown, start, wait_until

CHECK = """  metrics:
    - name: errors
      namespace: AWS/ApplicationELB
      metric: HTTPCode_Target_5XX_Count
      dimensions:
        LoadBalancer: "{load_balancer}"
        TargetGroup: "{green_target_group}"
      stat: Sum
      period: 1m
      compare: mann_whitney
      min_samples: 3
"""


def publish(aws, world, target_group_arn, errors_per_minute):
    """Five minutes of 1000 requests a minute with these 5xx counts, for one target group, in CloudWatch's forms."""
    load_balancer = "/".join(world["load_balancer_arn"].split(":loadbalancer/")[1].split("/")[:3])
    target_group = "targetgroup/" + target_group_arn.split(":targetgroup/")[1]
    dimensions = [{"Name": "LoadBalancer", "Value": load_balancer}, {"Name": "TargetGroup", "Value": target_group}]
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    data = []
    for minutes_ago, errors in enumerate(errors_per_minute, start=1):
        at = now - datetime.timedelta(minutes=minutes_ago)
        data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Timestamp": at, "Value": errors})
        data.append({"MetricName": "RequestCount", "Dimensions": dimensions, "Timestamp": at, "Value": 1000})
    aws.cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)


@pytest.mark.world(bake="30s", interval="200ms")
def test_green_at_five_percent_errors_against_blues_tenth_of_a_percent_rolls_back_with_the_numbers(world, switchyard, aws):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + CHECK)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    publish(aws, world, blue_tg, [1, 0, 2, 1, 1])
    publish(aws, world, green_tg, [50, 48, 52, 51, 49])
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["details"]["check"] == "metric:errors"
    evidence = event["details"]["evidence"]
    assert evidence.startswith("errors fail: green 50 vs blue 1 by Mann-Whitney, shift 49,"), evidence
    assert "(green 5, blue 5 samples)" in evidence, evidence


@pytest.mark.world(bake="1s", interval="200ms")
def test_green_like_blue_promotes_on_the_metrics_verdict(world, switchyard, aws, proxy):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + CHECK)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    publish(aws, world, blue_tg, [1, 0, 2, 1, 1])
    publish(aws, world, green_tg, [1, 1, 0, 2, 1])
    run = start(switchyard, world, env={"AWS_ENDPOINT_URL": proxy.url})
    code, _, err = run.finish()
    assert code == 0, err
    # The same check and data read as the rolling-back test above, only green's counts are blue's: no rollback.
    assert shown(switchyard, run.id)["state"] == "completed"
    # Through the proxy, which checks each request against botocore's model: one GetMetricData a tick, not one a check.
    assert proxy.counts.get("GetMetricData", 0) >= 3, proxy.counts


@pytest.mark.world(bake="1s", interval="200ms")
def test_too_few_data_points_past_the_bake_do_what_on_no_data_says(world, switchyard, aws):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + CHECK + "      on_no_data: rollback\n")
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    publish(aws, world, blue_tg, [1, 0, 2, 1, 1])
    publish(aws, world, green_tg, [1])
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["details"]["check"] == "metric:errors" and event["details"]["on_no_data"] == "rollback"
    assert event["details"]["evidence"] == "errors: not enough data (green 1, blue 5 samples; min_samples 3)"
    assert "had not enough data when step 1/3 had baked" in event["message"], event["message"]


def test_plan_shows_the_metric_queries_with_the_dimensions_filled_in(world, switchyard):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + CHECK)
    open(world["file"], "w").write(text)
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    blue_tg, green_tg = world["target_group_arns"]
    load_balancer = "/".join(world["load_balancer_arn"].split(":loadbalancer/")[1].split("/")[:3])
    dimensions = "{LoadBalancer=%s, TargetGroup=targetgroup/%s}"
    assert "  metrics   errors: green against blue by Mann-Whitney (tolerance 0.25, confidence 0.98); every 1m, min_samples 3, on_no_data pause" in out, out
    assert "              green: AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum " + dimensions % (load_balancer, green_tg.split(":targetgroup/")[1]) in out, out
    assert "              blue: AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum " + dimensions % (load_balancer, blue_tg.split(":targetgroup/")[1]) in out, out


@pytest.mark.world(bake="30s", interval="200ms")
def test_metrics_judge_green_only_once_it_has_traffic(world, switchyard, aws):
    """docs/states.md: during checking_health only the alarms and the probe run. Green's target group holds another
    fleet's errors from before the release; the metric check judges green first at its first step, not at 0 %."""
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + CHECK)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    publish(aws, world, blue_tg, [1, 0, 2, 1, 1])
    publish(aws, world, green_tg, [50, 48, 52, 51, 49])
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 3, err
    view = shown(switchyard, run.id)
    begun = next(e for e in view["events"] if e["to"] == "rolling_back")
    assert begun["from"] == "shifting", begun
    assert any("weights blue 90% / green 10%" in e["message"] for e in view["events"]), view["events"]
