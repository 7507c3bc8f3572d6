"""Metric checks judge green against blue from CloudWatch: per-target-group counts published with PutMetricData
during the release decide it, and the verdict's numbers are in `show`."""
import datetime
import re

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
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    put(aws, world, target_group_arn, [(now - datetime.timedelta(minutes=m), errors) for m, errors in enumerate(errors_per_minute, start=1)])


def put(aws, world, target_group_arn, points):
    """(timestamp, 5xx count) points for one target group, each with 1000 requests, in CloudWatch's forms."""
    load_balancer = "/".join(world["load_balancer_arn"].split(":loadbalancer/")[1].split("/")[:3])
    target_group = "targetgroup/" + target_group_arn.split(":targetgroup/")[1]
    dimensions = [{"Name": "LoadBalancer", "Value": load_balancer}, {"Name": "TargetGroup", "Value": target_group}]
    data = []
    for at, errors in points:
        data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Timestamp": at, "Value": errors, "StorageResolution": 1})
        data.append({"MetricName": "RequestCount", "Dimensions": dimensions, "Timestamp": at, "Value": 1000, "StorageResolution": 1})
    # Small batches: boto3 gzips a body over 10 KB, and moto answers a gzipped PutMetricData with 500.
    for i in range(0, len(data), 30):
        aws.cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data[i:i + 30])


def per_second(aws, world, target_group_arn, errors, since=0, until=120):
    """One point a second, from `since` to `until` seconds from now (CloudWatch takes timestamps up to two hours
    ahead): a read at any moment sees the points up to then."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    put(aws, world, target_group_arn, [(now + datetime.timedelta(seconds=s), errors) for s in range(since, until)])


# A high-resolution check, so a step's own traffic fills min_samples periods within an e2e test's bake.
FINE = CHECK.replace("period: 1m", "period: 1s")


@pytest.mark.world(bake="30s", interval="200ms")
def test_green_at_five_percent_errors_against_blues_tenth_of_a_percent_rolls_back_with_the_numbers(world, switchyard, aws):
    """Errors published only once step 1 is live: the step judges its own traffic and rolls back from shifting."""
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + FINE)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    per_second(aws, world, blue_tg, 1, since=-60)
    run = start(switchyard, world)
    wait_until(shifted(aws, world, 10), what="the first step")
    per_second(aws, world, green_tg, 50)
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    view = shown(switchyard, run.id)
    event = rollback_event(view)
    assert event["details"]["check"] == "metric:errors"
    evidence = event["details"]["evidence"]
    assert evidence.startswith("errors fail: green 50 vs blue 1 by Mann-Whitney, shift 49,"), evidence
    begun = next(e for e in view["events"] if e["to"] == "rolling_back")
    assert begun["from"] == "shifting", begun


# A bake of a few periods more than min_samples: the last check of each step has its three points with room to spare.
@pytest.mark.slow(19)
@pytest.mark.world(bake="6s", interval="200ms")
def test_green_like_blue_promotes_on_the_metrics_verdict(world, switchyard, aws, proxy):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + FINE)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    per_second(aws, world, blue_tg, 1, since=-60)
    per_second(aws, world, green_tg, 1, since=-60)
    run = start(switchyard, world, env={"AWS_ENDPOINT_URL": proxy.url})
    code, _, err = run.finish()
    assert code == 0, err
    # The same check and data read as the rolling-back test above, only green's counts are blue's: no rollback.
    assert shown(switchyard, run.id)["state"] == "completed"
    # Through the proxy, which checks each request against botocore's model: one GetMetricData a tick, not one a check.
    assert proxy.counts.get("GetMetricData", 0) >= 3, proxy.counts


@pytest.mark.world(bake="2s", interval="200ms")
def test_too_few_data_points_past_the_bake_do_what_on_no_data_says(world, switchyard, aws):
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + FINE + "      on_no_data: rollback\n")
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    per_second(aws, world, blue_tg, 1, since=-60)
    # Green's only point is from before the release: its step has none.
    per_second(aws, world, green_tg, 1, since=-60, until=-30)
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 3, err
    assert_back_on_blue(aws, world, run.id)
    event = rollback_event(shown(switchyard, run.id))
    assert event["details"]["check"] == "metric:errors" and event["details"]["on_no_data"] == "rollback"
    evidence = event["details"]["evidence"]
    # Blue's window starts at the step's live time too, so it holds none, one or a few points: green's none is what
    # decides.
    assert re.fullmatch(r"errors: not enough data \(green 0, blue (1 sample|\d+ samples); min_samples 3\)", evidence), evidence
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


@pytest.mark.slow(19)
@pytest.mark.world(bake="6s", interval="200ms")
def test_metrics_judge_green_only_once_it_has_traffic(world, switchyard, aws):
    """docs/states.md: a step's checks judge that step's traffic, from its live time. Green's target group holds
    another fleet's errors up to the moment the release starts; from then on green answers like blue. Read over a
    window reaching back before step 1 was live, those errors would roll a clean green back at 10 %."""
    text = open(world["file"]).read().replace("  max_unhealthy_targets: 0\n", "  max_unhealthy_targets: 0\n" + FINE)
    open(world["file"], "w").write(text)
    blue_tg, green_tg = world["target_group_arns"]
    per_second(aws, world, blue_tg, 1, since=-60)
    per_second(aws, world, green_tg, 50, since=-60, until=0)
    per_second(aws, world, green_tg, 1, since=0)
    run = start(switchyard, world)
    code, _, err = run.finish()
    assert code == 0, err
    view = shown(switchyard, run.id)
    assert view["state"] == "completed"
    assert any("weights blue 90% / green 10%" in e["message"] for e in view["events"]), view["events"]
