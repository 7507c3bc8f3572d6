"""The proxy's rest-xml check (Route 53) on its own (no binary, no moto): requests botocore itself serializes pass,
and each kind of mistake is reported as exactly that mistake."""
import urllib.parse

import botocore.serialize
import pytest

from awsmodel import check_rest_request, rest_operation, service_model

CHANGE = {"HostedZoneId": "Z0123ABC", "ChangeBatch": {"Comment": "switchyard: green 10%", "Changes": [
    {"Action": "UPSERT", "ResourceRecordSet": {"Name": "app.example.com.", "Type": "CNAME", "SetIdentifier": sid, "Weight": weight,
                                                "TTL": 60, "ResourceRecords": [{"Value": f"{sid}.elb.amazonaws.com"}]}}
    for sid, weight in (("blue", 90), ("green", 10))]}}


def serialized(operation, params):
    """(method, path with query, body) as botocore sends them: the reference for a correct request."""
    model = service_model("route53")
    request = botocore.serialize.create_serializer("rest-xml", include_validation=True).serialize_to_request(
        params, model.operation_model(operation))
    query = urllib.parse.urlencode(request["query_string"]) if request["query_string"] else ""
    return request["method"], request["url_path"] + ("?" + query if query else ""), request["body"] or b""


@pytest.mark.parametrize("operation,params", [
    ("ChangeResourceRecordSets", CHANGE),
    ("GetChange", {"Id": "C2682N5HXP0BZ4"}),
    ("ListResourceRecordSets", {"HostedZoneId": "Z1", "StartRecordName": "app.example.com.", "StartRecordType": "CNAME",
                                "StartRecordIdentifier": "green"}),
])
def test_what_botocore_sends_passes_and_names_its_operation(operation, params):
    method, path, body = serialized(operation, params)
    assert rest_operation("route53", method, path)[0] == operation
    assert check_rest_request("route53", method, path, body) == []


def test_each_mistake_is_named():
    method, path, body = serialized("ChangeResourceRecordSets", CHANGE)
    assert check_rest_request("route53", method, path, body.replace(b"<Weight>90</Weight>", b"<Weight>300</Weight>")) == [
        "ChangeResourceRecordSets: ChangeResourceRecordSetsRequest/ChangeBatch/Changes/Change/ResourceRecordSet/Weight: "
        "300 is above the maximum 255"]
    assert check_rest_request("route53", method, path, body.replace(b"<TTL>60</TTL>", b"<Ttl>60</Ttl>")) == [
        "ChangeResourceRecordSets: unknown element ChangeResourceRecordSetsRequest/ChangeBatch/Changes/Change/ResourceRecordSet/Ttl",
        "ChangeResourceRecordSets: unknown element ChangeResourceRecordSetsRequest/ChangeBatch/Changes/Change/ResourceRecordSet/Ttl",
    ]
    unnamespaced = body.replace(b' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"', b"")
    assert any("not ChangeResourceRecordSetsRequest in namespace" in p for p in check_rest_request("route53", method, path, unnamespaced))
    assert check_rest_request("route53", "GET", "/2013-04-01/hostedzone/Z1/rrset?name=a.&kind=CNAME", b"") == [
        "ListResourceRecordSets: unknown query parameter kind"]
    assert check_rest_request("route53", "POST", "/2013-04-01/hostedzone/Z1/rrset/", b"<ChangeResourceRecordSetsRequest "
                              b'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"/>') == [
        "ChangeResourceRecordSets: ChangeResourceRecordSetsRequest lacks required ChangeBatch"]
    assert check_rest_request("route53", "DELETE", "/2013-04-01/change/C1", b"") == ["route53: no operation is DELETE /2013-04-01/change/C1"]
