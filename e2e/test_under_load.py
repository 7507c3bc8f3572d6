"""Issue 19 under load: the real binary against moto, with the e2e data plane (dataplane.py) in front of one process
per instance, listener changes live SWITCHYARD_E2E_PROPAGATION (2) s late at the load balancer, a 2 s deregistration
delay, and an open-loop load of SWITCHYARD_E2E_LOAD_RATE (150) requests/s. Each scenario must fail no request but those
green itself fails; each prints requests sent, failed requests by cause and each step's observed green share. The
scenarios are in underload.py (bench/under-load runs the same ones); SWITCHYARD_E2E_SETTLE=none runs them against a
binary without traffic.settle. The Classic Load Balancer's scenarios have a proof of their own that they can fail: the
same release, the binary reading moto's instance health instead of the data plane's, fails requests."""
import pytest

from underload import PROPAGATION, SCENARIOS, Run


def params():
    for scenario in SCENARIOS:
        marks = [pytest.mark.world(**scenario.world), pytest.mark.dataplane(propagation=PROPAGATION, **scenario.dataplane)]
        yield pytest.param(scenario, marks=marks, id=scenario.run.__name__)


@pytest.mark.slow(18)
@pytest.mark.parametrize("scenario", params())
def test_no_request_fails_but_greens_own(scenario, world, switchyard, dataplane, validator, aws):
    run = Run(scenario.name, world, switchyard, dataplane, validator, aws)
    try:
        report = scenario.run(run)
    finally:
        run.close()
    print(report.text())
    assert not report.problems, report.text()


CLASSIC_RELEASE = next(s for s in SCENARIOS if s.run.__name__ == "shared_clb_release")


@pytest.mark.slow(18)
@pytest.mark.world(**CLASSIC_RELEASE.world)
@pytest.mark.dataplane(propagation=PROPAGATION, answer_health=False, **CLASSIC_RELEASE.dataplane)
def test_the_classic_release_fails_requests_when_the_binary_cannot_see_the_drain(world, switchyard, dataplane, validator, aws):
    """The harness can fail the Classic scenarios: the same release, with DescribeInstanceHealth left to moto (a
    deregistered instance is gone from it at once, nothing drains), has the binary terminate blue's surplus while the
    data plane's load balancer is still draining it: the requests it had in flight fail, and the report says so."""
    run = Run(CLASSIC_RELEASE.name + ", the drain hidden from the binary", world, switchyard, dataplane, validator, aws)
    try:
        report = CLASSIC_RELEASE.run(run)
    finally:
        run.close()
    print(report.text())
    failed = report.others()
    assert failed.get(f"dead-target {world['clb_name']}", 0) > 0, report.text()
    assert set(failed) == {f"dead-target {world['clb_name']}"}, report.text()
    assert any(p.startswith("instances terminated while draining") for p in report.problems), report.text()
