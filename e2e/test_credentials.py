"""The AWS credential chain end to end: a full release per credential source, with no AWS_ACCESS_KEY_ID in the
binary's environment, through the checking proxy. Each test proves AWS saw requests signed only with the keys that
source handed out (signatures verified with those keys), and that no secret or token reached the output or the
state file. STS is moto's (it answers AssumeRole and AssumeRoleWithWebIdentity); IMDSv2, the container endpoint and
the SSO portal are local stand-ins from credsources.py.

Each source test runs twice: with the switchyard binary, and with botocore's own credential chain in its place
(`[botocore]`, a few describe calls in the same environment). The botocore run proves the stand-ins and the
assertions are right — an AWS SDK gets its keys from them and passes — so a switchyard failure is switchyard's."""
import hashlib
import os
import subprocess
import re
import secrets
import sys
import time

import pytest

from awsmodel import parse_form
from credsources import NO_KEYS, Container, Imds, Keys, SsoPortal, assert_no_secret, assert_signed_only_with, \
    aws_requests, iso

ROLE_ARN = "arn:aws:iam::123456789012:role/switchyard-deployer"


REFERENCE_CLIENT = """
import boto3
session = boto3.session.Session(region_name="us-east-1")
clients = [(session.client("autoscaling"), "describe_auto_scaling_groups"), (session.client("ec2"), "describe_regions"),
           (session.client("elbv2"), "describe_load_balancers")]
for _ in range(4):
    for client, call in clients:
        getattr(client, call)()
print("botocore made 12 calls")
"""


@pytest.fixture(params=["switchyard", "botocore"])
def release(request, proxy, tmp_path):
    """run(env) -> (out, err, state file or None): a clean `switchyard start` of the seeded world with the given
    credential environment — or, for [botocore], the reference client in the same environment and $HOME."""

    def run(env):
        full = {**NO_KEYS, "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_DISABLED": "true", **env}
        if request.param == "botocore":
            base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            base.update({k: v for k, v in full.items() if v is not None})
            base["HOME"] = str(tmp_path)
            done = subprocess.run([sys.executable, "-c", REFERENCE_CLIENT], env=base, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr[-2000:]
            return done.stdout, done.stderr, None
        world, switchyard, aws = (request.getfixturevalue(name) for name in ("world", "switchyard", "aws"))
        assert os.path.dirname(world["db"]) == str(tmp_path), "the binary's $HOME is the test's tmp_path"
        code, out, err = switchyard("start", world["file"], "--ami", world["new_ami"], env=full, timeout=60)
        assert code == 0, f"exit {code}: {err[-2000:]}"
        blue_tg, green_tg = world["target_group_arns"]
        assert aws.weights(world["listener_arn"]) == {blue_tg: 0, green_tg: 100}
        return out, err, world["db"]

    return run


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def issued_keys(proxy):
    """(akid, secret, token) of every key STS handed out through the proxy."""
    return [(akid, *proxy.keys[akid]) for akid in proxy.issued]


def test_web_identity_token_file_and_role_arn(release, proxy, tmp_path):
    token = "eyJ" + secrets.token_urlsafe(48)
    token_file = write(tmp_path / "eks" / "token", token)
    out, err, db = release({
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file), "AWS_ROLE_ARN": ROLE_ARN, "AWS_ROLE_SESSION_NAME": "e2e-web"})
    calls = [r for r in proxy.requests if r.action == "AssumeRoleWithWebIdentity"]
    assert len(calls) == 1, f"{len(calls)} AssumeRoleWithWebIdentity calls for one-hour keys"
    assert not calls[0].signed, "AssumeRoleWithWebIdentity is sent unsigned"
    form = dict(parse_form(calls[0].body))
    assert (form["RoleArn"], form["RoleSessionName"], form["WebIdentityToken"]) == (ROLE_ARN, "e2e-web", token)
    [(akid, secret, session)] = issued_keys(proxy)
    assert_signed_only_with(proxy, akid)
    assert all(r.token == session for r in aws_requests(proxy))
    assert_no_secret([token, secret, session], out, err, db=db)


def test_profile_role_arn_with_source_profile_from_home(release, proxy, tmp_path):
    # The switchyard fixture runs the binary with HOME=tmp_path: the profile is found through $HOME.
    source = Keys("AKIA")
    write(tmp_path / ".aws" / "config", f"""[profile deploy]
role_arn = {ROLE_ARN}
source_profile = base
role_session_name = e2e-assume

[profile base]
region = us-east-1
""")
    write(tmp_path / ".aws" / "credentials", f"""[base]
aws_access_key_id = {source.akid}
aws_secret_access_key = {source.secret}
""")
    proxy.trust(source.akid, source.secret)
    out, err, db = release({"AWS_PROFILE": "deploy"})
    calls = [r for r in proxy.requests if r.action == "AssumeRole"]
    assert len(calls) == 1, f"{len(calls)} AssumeRole calls for one-hour keys"
    assert (calls[0].service, calls[0].akid, calls[0].signature) == ("sts", source.akid, "ok"), \
        "AssumeRole is signed by the source profile's keys"
    form = dict(parse_form(calls[0].body))
    assert (form["RoleArn"], form["RoleSessionName"]) == (ROLE_ARN, "e2e-assume")
    [(akid, secret, session)] = issued_keys(proxy)
    assert_signed_only_with(proxy, akid)
    assert_no_secret([source.secret, secret, session], out, err, db=db)


def test_credential_process_version_1(release, proxy, tmp_path):
    keys = Keys()
    ran = tmp_path / "credential-process-ran"
    script = write(tmp_path / "bin" / "creds.py", f"""import json
with open({str(ran)!r}, "a") as marker:
    marker.write("ran\\n")
print(json.dumps({{"Version": 1, "AccessKeyId": {keys.akid!r}, "SecretAccessKey": {keys.secret!r},
                  "SessionToken": {keys.token!r}, "Expiration": {iso(keys.expires)!r}}}))
""")
    write(tmp_path / ".aws" / "config", f"[default]\nregion = us-east-1\ncredential_process = {sys.executable} {script}\n")
    proxy.trust(keys.akid, keys.secret, keys.token)
    out, err, db = release({})
    assert ran.read_text().count("ran") >= 1
    assert_signed_only_with(proxy, keys.akid)
    assert_no_secret(keys.secrets, out, err, db=db)


def test_instance_metadata_v2(release, proxy):
    keys = Keys()
    imds = Imds(lambda: keys)
    proxy.trust(keys.akid, keys.secret, keys.token)
    try:
        out, err, db = release({
            "AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    finally:
        imds.close()
    puts = [c for c in imds.calls if c[0] == "PUT"]
    gets = [c for c in imds.calls if c[0] == "GET"]
    assert puts and all(c[1] == "/latest/api/token" for c in puts)
    assert imds.handed_out, f"the role's credentials were never read: {[c[:2] for c in imds.calls]}"
    assert imds.refused == 0 and all(c[2].get("x-aws-ec2-metadata-token") in imds.tokens for c in gets), \
        "every metadata GET carries the session token (IMDSv2)"
    assert_signed_only_with(proxy, keys.akid)
    assert_no_secret(keys.secrets + sorted(imds.tokens), out, err, db=db)


def test_container_credentials_full_uri_with_token_file(release, proxy, tmp_path):
    keys = Keys()
    authorization = "Bearer " + secrets.token_urlsafe(32)
    token_file = write(tmp_path / "pod-identity" / "token", authorization)
    container = Container(keys, authorization)
    proxy.trust(keys.akid, keys.secret, keys.token)
    try:
        out, err, db = release({
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url + "/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)})
    finally:
        container.close()
    assert container.calls, "the container endpoint was never asked"
    assert all(c[2].get("authorization") == authorization for c in container.calls), \
        "the token file's content arrives as the Authorization header"
    assert_signed_only_with(proxy, keys.akid)
    assert_no_secret(keys.secrets + [authorization], out, err, db=db)


def test_sso_profile_with_a_cached_token(release, proxy, tmp_path):
    keys, bearer, session = Keys(), "aoa" + secrets.token_urlsafe(40), "e2e-sso"
    write(tmp_path / ".aws" / "config", f"""[profile dev]
sso_session = {session}
sso_account_id = 123456789012
sso_role_name = Deployer
region = us-east-1

[sso-session {session}]
sso_region = us-east-1
sso_start_url = https://e2e-example.awsapps.com/start
sso_registration_scopes = sso:account:access
""")
    cache = tmp_path / ".aws" / "sso" / "cache" / (hashlib.sha1(session.encode()).hexdigest() + ".json")
    write(cache, f'{{"startUrl": "https://e2e-example.awsapps.com/start", "region": "us-east-1", '
                 f'"accessToken": "{bearer}", "expiresAt": "{iso(time.time() + 3600)}"}}')
    portal = SsoPortal(keys, "123456789012", "Deployer", bearer)
    proxy.trust(keys.akid, keys.secret, keys.token)
    try:
        out, err, db = release({"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": portal.url})
    finally:
        portal.close()
    asked = [c for c in portal.calls if c[1].startswith("/federation/credentials")]
    assert asked and all(c[2].get("x-amz-sso_bearer_token") == bearer for c in asked), \
        f"GetRoleCredentials with the cached token: {[c[:2] for c in portal.calls]}"
    assert_signed_only_with(proxy, keys.akid)
    assert_no_secret(keys.secrets + [bearer], out, err, db=db)


def test_no_source_at_all_names_every_source_and_no_secret(world, switchyard, proxy, tmp_path):
    # A profile that is not the one in use: its keys are read past, never shown.
    other = Keys("AKIA")
    write(tmp_path / ".aws" / "credentials", f"[other]\naws_access_key_id = {other.akid}\n"
                                             f"aws_secret_access_key = {other.secret}\n")
    env = {**NO_KEYS, "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_DISABLED": "true"}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env, timeout=30)
    assert code == 2, f"exit {code}: {err}"
    for source, pattern in [("environment", r"environment|AWS_ACCESS_KEY_ID"),
                            ("web identity", r"web identity|AWS_WEB_IDENTITY_TOKEN_FILE"),
                            ("profile", r"profile"),
                            ("container", r"container|AWS_CONTAINER_CREDENTIALS"),
                            ("instance metadata", r"instance metadata|instance-metadata|IMDS|EC2 metadata")]:
        assert re.search(pattern, err, re.IGNORECASE), f"the error does not name the {source} source:\n{err}"
    assert not aws_requests(proxy), "nothing reaches AWS without credentials"
    assert_no_secret([other.secret], out, err)
