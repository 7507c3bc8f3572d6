"""Checks a query-protocol request (form body) against AWS's own service model, as botocore ships it.

moto accepts almost anything and silently drops what it does not understand, so the e2e proxy decodes every request
the binary sends into the operation's input shape and reports what real AWS would refuse or misread:
    violations = check_request("elasticloadbalancing", body)      # [] when AWS would take it as meant
Each violation is one line naming the action, the parameter and why. Understands the `query` protocol
(autoscaling, elasticloadbalancing, monitoring, sts: lists `X.member.N`, maps `X.entry.N.key`) and the `ec2`
protocol (lists `X.N`, member names from `queryName`, else the capitalised `locationName`), the `json` protocol
(dynamodb: the operation from `X-Amz-Target`, the body a JSON object):
    violations = check_json_request("dynamodb", "DynamoDB_20120810.PutItem", body)
and Route 53's rest-xml with `check_rest_request` (operation from method and path, required members, query
parameters, the XML body's elements and values).

Classic ELB and ELBv2 are one signing name (`elasticloadbalancing`) and one endpoint; the request's `Version` says
which API it is for (2012-06-01: Classic, botocore's `elb`; anything else: ELBv2, `elbv2`, whose version a wrong one
is then reported against). AddTags, RemoveTags, DescribeTags and DescribeLoadBalancers are in both, with different
parameters: a Classic request is checked against the Classic model, so an ELBv2 parameter in it is unknown.
"""
import base64
import datetime
import json
import re
import urllib.parse
from functools import lru_cache

import botocore.session

# The SigV4 signing name (the credential scope's service) -> botocore's service model name.
SIGNING_NAMES = {"ec2": "ec2", "autoscaling": "autoscaling", "elasticloadbalancing": "elbv2",
                 "monitoring": "cloudwatch", "sts": "sts", "dynamodb": "dynamodb"}
# Signing names shared by several APIs: the request's Version -> botocore's model name (else SIGNING_NAMES').
MODELS_BY_VERSION = {"elasticloadbalancing": {"2012-06-01": "elb", "2015-12-01": "elbv2"}}
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


@lru_cache(maxsize=None)
def service_model(name):
    """botocore's model for a signing name (ec2, autoscaling, elasticloadbalancing, monitoring, sts) or a model name."""
    return botocore.session.get_session().get_service_model(SIGNING_NAMES.get(name, name))


def model_name(service, version=None):
    """botocore's model name for a signing name and the request's Version (which API of a shared signing name)."""
    return MODELS_BY_VERSION.get(service, {}).get(version) or SIGNING_NAMES.get(service, service)


def model_of(service, body):
    """The model name of one form request (`Version` decides between Classic ELB and ELBv2): 'elb', 'elbv2', ..."""
    if service not in MODELS_BY_VERSION:
        return model_name(service)
    pairs = parse_form(body) if not isinstance(body, dict) else [(k, str(v)) for k, v in body.items()]
    return model_name(service, dict(pairs).get("Version"))


def parse_form(body):
    """The form body as (key, value) pairs in order, blanks kept (a query-protocol empty list is `X=`)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return urllib.parse.parse_qsl(text, keep_blank_values=True)


def check_request(service, body):
    """Every way this form body differs from what the service model allows; [] when it is a valid request. The model
    is the signing name's, or for a shared one (elasticloadbalancing) the one the request's Version names."""
    pairs = parse_form(body) if not isinstance(body, dict) else [(k, str(v)) for k, v in body.items()]
    keys = [k for k, _ in pairs]
    params = dict(pairs)
    action = params.pop("Action", None)
    version = params.pop("Version", None)
    model = service_model(model_name(service, version))
    if action is None:
        return [f"{service}: the request has no Action (an empty or cut body?)"]
    if action not in model.operation_names:
        return [f"{service} {action}: no such operation in the {model.service_name} model"]
    problems = [f"{action}: parameter {k} sent {keys.count(k)} times" for k in sorted(set(keys)) if keys.count(k) > 1]
    if version != model.api_version:
        problems.append(f"{action}: Version is {version!r}, the {model.service_name} API is {model.api_version!r}")
    shape = model.operation_model(action).input_shape
    decoder = _Decoder(action, "ec2" if model.protocol == "ec2" else "query", params)
    if shape is not None:
        decoder.structure(shape, "")
    problems += decoder.problems
    for key in sorted(set(params) - decoder.used):
        problems.append(f"{action}: unknown parameter {key}{decoder.hint(key)}")
    return problems


class _Decoder:
    """Walks an input shape, consuming the form keys each member may use, the way botocore serializes them."""

    def __init__(self, action, protocol, params):
        self.action, self.ec2, self.params = action, protocol == "ec2", params
        self.used, self.problems = set(), []

    def report(self, key, why):
        self.problems.append(f"{self.action}: {key}: {why}")

    def under(self, prefix):
        """Keys at `prefix` or below it."""
        return [k for k in self.params if k == prefix or k.startswith(prefix + ".")]

    def name(self, shape, default):
        if self.ec2:
            if "queryName" in shape.serialization:
                return shape.serialization["queryName"]
            if "name" in shape.serialization:
                return shape.serialization["name"][0].upper() + shape.serialization["name"][1:]
            return default
        return shape.serialization.get("name", default)

    def value(self, shape, key):
        if shape.type_name == "structure":
            self.structure(shape, key + ".")
        elif shape.type_name == "list":
            self.list(shape, key)
        elif shape.type_name == "map":
            self.map(shape, key)
        else:
            self.scalar(shape, key)

    def structure(self, shape, prefix):
        for member_name, member in shape.members.items():
            key = prefix + self.name(member, member_name)
            present = self.under(key)
            if not present:
                if member_name in shape.required_members:
                    self.report(key, f"required member of {shape.name} is missing")
                continue
            if member.type_name == "structure" and key in self.params:
                self.used.add(key)
                self.report(key, f"a scalar where the structure {member.name} belongs")
            self.value(member, key)

    def list(self, shape, key):
        if self.ec2:
            prefix = key
        elif shape.serialization.get("flattened"):
            prefix = key
            if shape.member.serialization.get("name"):
                prefix = ".".join(key.split(".")[:-1] + [self.name(shape.member, "")])
        else:
            prefix = f"{key}.{shape.member.serialization.get('name', 'member')}"
        if key in self.params:
            self.used.add(key)
            if self.ec2 or self.params[key] != "":
                self.report(key, f"a scalar where the list {shape.name} belongs (items are {prefix}.N)")
        indexes = self._indexes(prefix)
        for i in indexes:
            self.value(shape.member, f"{prefix}.{i}")
        count = len(indexes) if indexes or key not in self.params else 0
        limits = shape.metadata
        if "min" in limits and count < limits["min"] and (indexes or key in self.params):
            self.report(key, f"{count} items, the model wants at least {limits['min']}")
        if "max" in limits and count > limits["max"]:
            self.report(key, f"{count} items, the model allows at most {limits['max']}")

    def map(self, shape, key):
        prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        for i in self._indexes(prefix):
            self.value(shape.key, f"{prefix}.{i}.{self.name(shape.key, 'key')}")
            self.value(shape.value, f"{prefix}.{i}.{self.name(shape.value, 'value')}")

    def _indexes(self, prefix):
        found = set()
        for k in self.params:
            if k.startswith(prefix + "."):
                head = k[len(prefix) + 1:].split(".")[0]
                if _INT.fullmatch(head):
                    found.add(int(head))
        ordered = sorted(found)
        if ordered and ordered != list(range(1, len(ordered) + 1)):
            self.report(prefix, f"list indexes {ordered} do not run 1..N")
        return ordered

    def scalar(self, shape, key):
        if key not in self.params:
            return  # only deeper keys: left unused, so reported as unknown parameters
        self.used.add(key)
        deeper = [k for k in self.under(key) if k != key]
        if deeper:
            self.used.update(deeper)
            self.report(key, f"a list or structure ({deeper[0]}) where the {shape.type_name} {shape.name} belongs")
        why = _scalar_problem(shape, self.params[key])
        if why:
            self.report(key, why)

    def hint(self, key):
        """Why an unknown key may be unknown: the usual list-encoding mix-up between the two protocols."""
        if not self.ec2 and re.search(r"\.\d+(\.|$)", key) and ".member." not in key:
            return " (query-protocol lists are Name.member.N)"
        if self.ec2 and ".member." in key:
            return " (EC2 lists are Name.N)"
        return ""


def _scalar_problem(shape, value):
    kind, meta = shape.type_name, shape.metadata
    if kind in ("integer", "long"):
        if not _INT.fullmatch(value):
            return f"{value!r} is not an {kind}"
        number = int(value)
        if "min" in meta and number < meta["min"]:
            return f"{number} is below the minimum {meta['min']}"
        if "max" in meta and number > meta["max"]:
            return f"{number} is above the maximum {meta['max']}"
    elif kind == "boolean":
        if value not in ("true", "false"):
            return f"{value!r} is not a boolean (true or false)"
    elif kind in ("double", "float"):
        if not _FLOAT.fullmatch(value):
            return f"{value!r} is not a {kind}"
    elif kind == "timestamp":
        if not _is_timestamp(value):
            return f"{value!r} is not an ISO-8601 timestamp"
    elif kind == "blob":
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return f"{value!r} is not base64"
    elif kind == "string":
        if shape.enum and value not in shape.enum:
            return f"{value!r} is not one of {shape.name}'s values {sorted(shape.enum)}"
        if "min" in meta and len(value) < meta["min"]:
            return f"{len(value)} characters, the model wants at least {meta['min']}"
        if "max" in meta and len(value) > meta["max"]:
            return f"{len(value)} characters, the model allows at most {meta['max']}"
    return None


def _is_timestamp(value):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return bool(_FLOAT.fullmatch(value))


# -- REST-XML (route53) ------------------------------------------------------------------------------------------
# The SigV4 signing name -> botocore's model name, for services whose operation is the method and the path.
REST_SIGNING_NAMES = {"route53": "route53"}


def rest_operation(service, method, path):
    """(operation name, {uri label: value}) for a REST request, or (None, {}) when no operation has that method and
    path. Greedy labels ({Key+}) take slashes."""
    model = service_model(REST_SIGNING_NAMES.get(service, service))
    request_path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        template = http.get("requestUri", "").partition("?")[0]
        pattern = re.sub(r"\\\{(\w+)(\\\+)?\\\}", lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})", re.escape(template))
        match = re.fullmatch(pattern, request_path)
        if match:
            return name, match.groupdict()
    return None, {}


def check_rest_request(service, method, path, body):
    """Every way this REST-XML request differs from the service model: the operation (from method and path), the
    required members (path, query string, body), unknown query parameters and unknown or misplaced XML elements."""
    import xml.etree.ElementTree as ET
    operation, labels = rest_operation(service, method, path)
    if operation is None:
        return [f"{service}: no operation is {method} {urllib.parse.urlsplit(path).path}"]
    op = service_model(REST_SIGNING_NAMES.get(service, service)).operation_model(operation)
    shape = op.input_shape
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query, keep_blank_values=True))
    problems, known_query, body_members = [], set(), {}
    for name, member in (shape.members.items() if shape else []):
        location, wire = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri":
            present = wire in labels
        elif location == "querystring":
            known_query.add(wire)
            present = wire in query
            if present:
                problems += [f"{operation}: query {wire}: {p}" for p in [_scalar_problem(member, query[wire])] if p]
        elif location in ("header", "headers"):
            present = True  # Switchyard sends no modelled headers
        else:
            body_members[member.serialization.get("name", name)] = (name, member)
            present = None
        if present is False and name in shape.required_members:
            problems.append(f"{operation}: required {name} ({location} {wire}) is missing")
    problems += [f"{operation}: unknown query parameter {k}" for k in sorted(set(query) - known_query)]
    if not body_members:
        if body:
            problems.append(f"{operation}: a body where the operation takes none")
        return problems
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        return problems + [f"{operation}: the body is not XML: {error}"]
    root_name = shape.serialization.get("name", shape.name)
    namespace = shape.serialization.get("xmlNamespace", {}).get("uri")
    if root.tag != (f"{{{namespace}}}{root_name}" if namespace else root_name):
        problems.append(f"{operation}: the document element is {root.tag}, not {root_name} in namespace {namespace}")
    problems += _xml_structure(operation, shape, root, body_members, namespace, root_name)
    return problems


def _xml_structure(operation, shape, element, members, namespace, where):
    """Checks an element's children against a structure shape: known names, required members, scalar values."""
    problems, seen = [], set()
    by_wire = members if members is not None else {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
    for child in element:
        # The document element's default namespace (checked there) is inherited: a child outside it is unknown.
        tag = child.tag[len(namespace) + 2:] if namespace and child.tag.startswith(f"{{{namespace}}}") else child.tag
        if tag not in by_wire:
            problems.append(f"{operation}: unknown element {where}/{tag}")
            continue
        name, member = by_wire[tag]
        if name in seen and member.type_name != "list":
            problems.append(f"{operation}: {where}/{tag} given twice")
        seen.add(name)
        problems += _xml_value(operation, member, child, namespace, f"{where}/{tag}")
    for name in shape.required_members:
        if name not in seen and shape.members[name].serialization.get("location") is None:
            problems.append(f"{operation}: {where} lacks required {name}")
    return problems


def _xml_value(operation, shape, element, namespace, where):
    if shape.type_name == "structure":
        return _xml_structure(operation, shape, element, None, namespace, where)
    if shape.type_name == "list":
        item = shape.member.serialization.get("name", "member")
        problems = []
        for child in element:
            tag = child.tag.split("}", 1)[-1]
            if tag != item:
                problems.append(f"{operation}: {where}/{tag}: list items are <{item}>")
                continue
            problems += _xml_value(operation, shape.member, child, namespace, f"{where}/{item}")
        if "min" in shape.metadata and len(list(element)) < shape.metadata["min"]:
            problems.append(f"{operation}: {where} has {len(list(element))} items, at least {shape.metadata['min']} needed")
        return problems
    if len(list(element)):
        return [f"{operation}: {where} is a {shape.type_name}, not a structure"]
    problem = _scalar_problem(shape, element.text or "")
    return [f"{operation}: {where}: {problem}"] if problem else []


def check_json_request(service, target, body):
    """Every way a JSON-protocol request (`X-Amz-Target` and body) differs from what the service model allows."""
    model = service_model(service)
    prefix = model.metadata.get("targetPrefix")
    if not target or "." not in target:
        return [f"{service}: the request has no X-Amz-Target <{prefix}>.<Operation> header"]
    sent_prefix, action = target.rsplit(".", 1)
    if sent_prefix != prefix:
        return [f"{service} {action}: X-Amz-Target prefix is {sent_prefix!r}, the {model.service_name} API wants {prefix!r}"]
    if action not in model.operation_names:
        return [f"{service} {action}: no such operation in the {model.service_name} model"]
    try:
        document = json.loads(body)
    except ValueError as error:
        return [f"{action}: the body is not JSON ({error})"]
    problems = []
    _json_value(model.operation_model(action).input_shape, document, action, "", problems)
    if service == "dynamodb":
        # Not in the model, but DynamoDB answers ValidationException: "ExpressionAttributeValues must not be empty".
        problems += [f"{action}: {path}: an empty map (DynamoDB refuses it)" for path in _empty_expression_maps(document, "")]
    return problems


def _empty_expression_maps(value, path):
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _empty_expression_maps(item, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    found = [f"{path}.{k}".lstrip(".") for k, v in value.items() if k.startswith("ExpressionAttribute") and v == {}]
    return found + [p for k, v in value.items() if not k.startswith("ExpressionAttribute")
                    for p in _empty_expression_maps(v, f"{path}.{k}")]


def _json_value(shape, value, action, path, problems):
    """Checks `value` against `shape` the way botocore's json serializer would have written it."""
    where = path or "(body)"
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{action}: {where}: {type(value).__name__} where the structure {shape.name} belongs")
            return
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{action}: {path + '.' if path else ''}{name}: required member of {shape.name} is missing")
        if shape.metadata.get("union") and len(value) != 1:
            problems.append(f"{action}: {where}: {shape.name} takes exactly one member, got {sorted(value)}")
        for name, member in value.items():
            key = f"{path}.{name}" if path else name
            if name not in shape.members:
                problems.append(f"{action}: unknown parameter {key}")
            else:
                _json_value(shape.members[name], member, action, key, problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{action}: {where}: {type(value).__name__} where the list {shape.name} belongs")
            return
        if "min" in shape.metadata and len(value) < shape.metadata["min"]:
            problems.append(f"{action}: {where}: {len(value)} items, the model wants at least {shape.metadata['min']}")
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            problems.append(f"{action}: {where}: {len(value)} items, the model allows at most {shape.metadata['max']}")
        for i, item in enumerate(value):
            _json_value(shape.member, item, action, f"{where}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{action}: {where}: {type(value).__name__} where the map {shape.name} belongs")
            return
        if "min" in shape.metadata and len(value) < shape.metadata["min"]:
            problems.append(f"{action}: {where}: {len(value)} entries, the model wants at least {shape.metadata['min']}")
        for key, item in value.items():
            _json_value(shape.key, key, action, f"{where} key", problems)
            _json_value(shape.value, item, action, f"{where}[{key!r}]", problems)
    else:
        why = _json_scalar_problem(shape, value)
        if why:
            problems.append(f"{action}: {where}: {why}")


def _json_scalar_problem(shape, value):
    kind = shape.type_name
    if kind == "boolean":
        return None if isinstance(value, bool) else f"{value!r} is not a JSON boolean"
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{value!r} is not a JSON integer"
        return _scalar_problem(shape, str(value))
    if kind in ("double", "float"):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{value!r} is not a JSON number"
    if kind == "timestamp":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{value!r} is not epoch seconds"
    if not isinstance(value, str):
        return f"{value!r} is not a JSON string ({shape.name} is a {kind})"
    return _scalar_problem(shape, value)
