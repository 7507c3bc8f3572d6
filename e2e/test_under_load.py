"""Issue 19 under load: the real binary against moto, with the e2e data plane (dataplane.py) in front of one process
per instance, listener changes live SWITCHYARD_E2E_PROPAGATION (2) s late at the load balancer, a 2 s deregistration
delay, and an open-loop load of SWITCHYARD_E2E_LOAD_RATE (150) requests/s. Each scenario must fail no request but those
green itself fails; each prints requests sent, failed requests by cause and each step's observed green share. The
scenarios are in underload.py (bench/under-load runs the same ones); SWITCHYARD_E2E_SETTLE=none runs them against a
binary without traffic.settle."""
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
