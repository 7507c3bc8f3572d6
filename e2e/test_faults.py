"""A release through an unreliable path to AWS: connections dropped without an answer, 503s, an answer that comes
later than the binary's per-request timeout. Each release completes as a clean one would, every request that
reached AWS (moto) was whole and correctly signed, and nothing was created twice."""
import re

import pytest

WRITE = re.compile(r"(Create|Modify|Add|Remove|Delete|Update|Set|Attach|Detach|Register|Deregister|Put)[A-Z]")
EXPECTED_WEIGHTS = [(100, 0), (90, 10), (50, 50), (0, 100)]


def release_through(proxy, world, switchyard, poller, env=None):
    """A `switchyard start` through the faulty proxy, watched from outside; a hang fails after 90 s."""
    blue_tg, green_tg = world["target_group_arns"]
    with poller(world, blue_tg, green_tg) as watch:
        code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], timeout=90,
                                    env={"AWS_ENDPOINT_URL": proxy.url, "SWITCHYARD_AWS_TIMEOUT": "2s", **(env or {})})
    assert code == 0, f"exit {code}: {err[-3000:]}"
    assert watch.seen == EXPECTED_WEIGHTS, f"weights went {watch.seen}"
    return out, err


def assert_aws_saw_only_whole_signed_requests_and_nothing_twice(proxy):
    # A request sent without its whole body is never forwarded (AWS would wait for the rest), so check what was sent.
    cut = [(r.n, r.action, r.body_length, r.content_length) for r in proxy.requests if not r.whole]
    assert not cut, f"requests sent with a cut or empty body (n, action, bytes, Content-Length): {cut}"
    reached = proxy.forwarded()
    assert len(reached) >= 20, f"only {len(reached)} requests reached AWS"
    bad = [(r.n, r.action, r.body_length, r.content_length, r.signature) for r in reached
           if not r.whole or r.signature != "ok"]
    assert not bad, f"requests that reached AWS cut, empty or badly signed: {bad}"
    assert proxy.forwarded_count("CreateAutoScalingGroup") == 1, proxy.counts
    assert proxy.forwarded_count("CreateLaunchTemplateVersion") == 1, proxy.counts


@pytest.mark.world(bake="1s", interval="1s")
def test_every_4th_connection_dropped_without_an_answer(world, switchyard, proxy, poller):
    proxy.drop_every(4)
    release_through(proxy, world, switchyard, poller)
    dropped = [r for r in proxy.requests if r.outcome == "dropped"]
    assert len(dropped) >= 5, f"only {len(dropped)} drops: the test did not test much"
    assert_aws_saw_only_whole_signed_requests_and_nothing_twice(proxy)
    # A change that was dropped before reaching AWS is not lost: the same request reaches AWS later.
    writes = [r for r in dropped if WRITE.match(r.action)]
    for r in writes:
        again = [x for x in proxy.forwarded() if x.n > r.n and x.body == r.body]
        assert again, f"request {r.n} ({r.action}) was dropped and never reached AWS afterwards"


@pytest.mark.world(bake="1s", interval="1s")
def test_every_4th_request_answered_503(world, switchyard, proxy, poller):
    proxy.error_every(4, status=503, code="ServiceUnavailable")
    release_through(proxy, world, switchyard, poller)
    injected = [r for r in proxy.requests if r.outcome == "injected:ServiceUnavailable"]
    assert len(injected) >= 5, f"only {len(injected)} 503s: the test did not test much"
    assert_aws_saw_only_whole_signed_requests_and_nothing_twice(proxy)


@pytest.mark.world(bake="1s", interval="1s")
def test_an_answer_held_past_the_request_timeout(world, switchyard, proxy, poller):
    # The first DescribeListeners once green exists (the read before the first weight change, outside any health
    # check's own timeout) is forwarded, and its answer held 30 s: far past SWITCHYARD_AWS_TIMEOUT=2s, and far past
    # what the release needs in all.
    proxy.hold("DescribeListeners", 30, after="CreateAutoScalingGroup")
    release_through(proxy, world, switchyard, poller)
    held = [r for r in proxy.requests if r.outcome == "held+forwarded"]
    assert len(held) == 1, held
    held = held[0]
    again = next((r for r in proxy.requests if r.n > held.n and r.body == held.body), None)
    assert again is not None, "the held DescribeListeners was never asked again"
    gap = again.at - held.at
    assert 1.5 <= gap <= 10, f"the held DescribeListeners was asked again {gap:.1f}s later: the 2s timeout " \
                             "did not end the wait"
    assert_aws_saw_only_whole_signed_requests_and_nothing_twice(proxy)
