"""Verifies a received request's SigV4 signature with botocore's own signer: moto checks none, so the e2e proxy does.

    parsed = parse_authorization(headers.get("Authorization"))   # None when unsigned
    problem = verify(method, path, headers, body, secret, token)  # None when the signature is right
The canonical request is rebuilt from what arrived (the declared SignedHeaders, the request's own X-Amz-Date, the
body as received), so a body cut or emptied on the way, or signed with another key, does not verify.
"""
import hashlib
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
                   r"SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$")


class Authorization:
    """The parts of a SigV4 Authorization header."""

    def __init__(self, akid, date, region, service, signed_headers, signature):
        self.akid, self.date, self.region, self.service = akid, date, region, service
        self.signed_headers, self.signature = signed_headers, signature


def parse_authorization(value):
    """The header's parts, None without a header; raises ValueError for a header that is not SigV4."""
    if not value:
        return None
    match = _AUTH.match(value.strip())
    if not match:
        raise ValueError("not a SigV4 Authorization header")
    akid, date, region, service, signed, signature = match.groups()
    return Authorization(akid, date, region, service, signed.split(";"), signature)


class _Verifier(SigV4Auth):
    """botocore's signer, held to the headers the client said it signed (botocore itself signs more)."""

    def __init__(self, credentials, service, region, signed_headers):
        super().__init__(credentials, service, region)
        self._signed = signed_headers

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name in self._signed:
            if name in request.headers:
                headers[name] = request.headers[name]
        return headers


def verify(method, path, headers, body, secret, token=None):
    """None when `headers`' Authorization is a correct SigV4 signature of this request with `secret` (and `token`);
    else why not. `headers` is a case-insensitive mapping of what arrived."""
    try:
        auth = parse_authorization(headers.get("Authorization"))
    except ValueError as error:
        return str(error)
    if auth is None:
        return "unsigned"
    stamp = headers.get("X-Amz-Date")
    if not stamp:
        return "no X-Amz-Date header"
    if stamp[:8] != auth.date:
        return f"credential scope date {auth.date} is not X-Amz-Date's {stamp[:8]}"
    for name in ("host", "x-amz-date"):
        if name not in auth.signed_headers:
            return f"{name} is not among the signed headers"
    missing = [name for name in auth.signed_headers if headers.get(name) is None]
    if missing:
        return f"signed header(s) {missing} did not arrive"
    if token is not None:
        if headers.get("X-Amz-Security-Token") != token:
            return "X-Amz-Security-Token is not the session token of this key"
        if "x-amz-security-token" not in auth.signed_headers:
            return "X-Amz-Security-Token is not signed"
    declared = headers.get("X-Amz-Content-SHA256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-SHA256 is not the hash of the body that arrived"
    request = AWSRequest(method=method, url=f"http://{headers.get('Host')}{path}", data=body,
                         headers={k: v for k, v in headers.items() if k.lower() != "authorization"})
    request.context["timestamp"] = stamp
    signer = _Verifier(Credentials("unused", secret, token), auth.service, auth.region, auth.signed_headers)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != auth.signature:
        return "signature does not match (wrong secret, or the request changed after signing)"
    return None
