"""Temporary credentials that expire in the middle of a release: the instance metadata service hands out new keys
on every read, each living 5 seconds; the proxy answers ExpiredToken to any request signed with a key past its
expiry; the release bakes about 15 seconds. It completes, on more than one key."""
import pytest

from credsources import NO_KEYS, Imds, Keys, assert_no_secret, aws_requests

LIFETIME = 5


@pytest.mark.slow(16)
@pytest.mark.world(bake="5s", interval="1s")
def test_keys_living_5_seconds_are_refreshed_through_a_15_second_release(world, switchyard, proxy, aws):
    def issue():
        keys = Keys(lifetime=LIFETIME)
        proxy.trust(keys.akid, keys.secret, keys.token)
        proxy.expire_after(keys.akid, keys.expires)
        return keys

    imds = Imds(issue)
    env = {**NO_KEYS, "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    try:
        code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=env, timeout=120)
    finally:
        imds.close()
    assert code == 0, f"exit {code}: {err[-3000:]}"
    blue_tg, green_tg = world["target_group_arns"]
    assert aws.weights(world["listener_arn"]) == {blue_tg: 0, green_tg: 100}

    handed_out = {k.akid: k for k in imds.handed_out}
    seen = aws_requests(proxy)
    used = list(dict.fromkeys(r.akid for r in seen))
    assert set(used) <= set(handed_out), "every key that signed came from the metadata service"
    assert len(used) > 1, f"a {LIFETIME}s key cannot last a 15s release, yet one key signed all {len(seen)} requests"
    # The proxy never forwards a request signed with an expired key (test_proxy.py proves it), so what reached AWS
    # was signed with live keys; refreshing before expiry means hardly ever hearing ExpiredToken at all.
    expired = [(r.n, r.action) for r in seen if r.outcome == "expired"]
    assert len(expired) <= 1, f"keys were used past their Expiration instead of refreshed before it: {expired}"
    assert all(r.signature == "ok" for r in seen if r.reached_aws)
    # An ExpiredToken answer is followed by the same call with another key (credentials resolved again).
    for r in (r for r in seen if r.outcome == "expired"):
        retry = next((x for x in seen if x.n > r.n and x.action == r.action), None)
        assert retry is not None and retry.akid != r.akid, f"request {r.n} ({r.action}) was not retried on a new key"
    assert_no_secret([s for k in imds.handed_out for s in k.secrets], out, err, db=world["db"])
