"""Checks an ARM request body against Azure's own models, as the azure-mgmt-* packages from PyPI ship them.

The Azure stand-in (e2e/azure_standin.py) is no emulator of Azure's validation, so every JSON body it receives is
walked against the model class the SDK would serialize for that operation, and each way it differs is reported:
    problems = check(models.VirtualMachineScaleSet, body, "create")   # [] when Azure would take it as meant
    problems = check(models.VirtualMachineScaleSetUpdate, body, "update")
Each problem is a `Problem(path, why, kind)`; kind is "unknown" (a property the model does not have), "missing" (a
required one absent), "readonly" (a property only Azure sets: ARM ignores it, so it means the client misread the
model), "type" (a wrong JSON type, a date that is not ISO 8601), "enum" (a value the model's enum does not know) or
"range" (outside the bounds the model states). Two kinds of model are read:
  - TypeSpec models (azure-mgmt-compute 39, -network 33, -trafficmanager 2, -resource 26): `rest_field(name=…,
    visibility=[…])` attributes whose annotations give the type; `Optional[...]` means not required; visibility
    ["read"] means read-only; a field without "read" is write-only (a secret Azure never returns).
  - msrest models (azure-mgmt-monitor 7): `_attribute_map` (dotted keys are flattened into `properties.…`) and
    `_validation` (required, readonly, minimum/maximum, min_items/max_items, pattern).
TypeSpec models carry no numeric bounds, but their docstrings state them ("Possible values are from 1 to 1000." for
a Traffic Manager endpoint's weight); those stated bounds of integer properties are checked too.
`check(..., "read")` checks a response body the same way (readonly allowed, nothing required): the stand-in's own
answers are held to the models as well, so that it cannot invent a property a client would then rely on.
"""
import datetime
import functools
import re
import sys
import typing
from dataclasses import dataclass

_RANGE = re.compile(r"(?:values are from|between)\s+(-?\d+)\s+(?:to|and)\s+(-?\d+)", re.IGNORECASE)
_DURATION = re.compile(r"^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


@dataclass(frozen=True)
class Problem:
    path: str     # where in the body, e.g. properties.virtualMachineProfile.storageProfile.imageReference.idd
    why: str
    kind: str     # unknown | missing | readonly | type | enum | range

    def __str__(self):
        return f"{self.path or '(body)'}: {self.why}"


@dataclass
class Field:
    name: str                 # the JSON (rest) name
    spec: tuple               # ("str",) ("int",) ("float",) ("bool",) ("datetime",) ("duration",) ("any",)
                              # ("enum", values, enum name) ("list", spec) ("dict", spec) ("model", Schema)
    required: bool = False
    readonly: bool = False
    writeonly: bool = False
    bounds: tuple | None = None   # (lowest, highest) a number may take; None for either end means open
    items: tuple | None = None    # (fewest, most) items of a list
    pattern: str | None = None


class Schema:
    """The fields of one model class, by JSON name, and its discriminator (a polymorphic base knows its kinds);
    `open` when the model takes properties it does not name (msrest's additional_properties)."""

    def __init__(self, name, fields, discriminator=None, kinds=None, open_=False):
        self.name, self.fields, self.discriminator, self.kinds = name, fields, discriminator, kinds or {}
        self.open = open_


@functools.lru_cache(maxsize=None)
def schema(cls):
    """The Schema of an SDK model class of either kind."""
    if hasattr(cls, "_attribute_map"):
        return _msrest_schema(cls)
    return _typespec_schema(cls)


def check(cls, body, mode):
    """Every way `body` (decoded JSON) differs from what model `cls` allows in `mode`: create | update | read."""
    problems = []
    _walk(schema(cls), body, "", mode, problems)
    return problems


def _walk(s, value, path, mode, problems):
    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected an object ({s.name}), got {_json_type(value)}", "type"))
        return
    if s.discriminator and value.get(s.discriminator) in s.kinds:
        s = s.kinds[value[s.discriminator]]
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        field = s.fields.get(key)
        if field is None and s.open:
            continue
        if field is None:
            near = [n for n in s.fields if n.lower() == key.lower()]
            hint = f" (the model spells it {near[0]!r})" if near else ""
            problems.append(Problem(where, f"{s.name} has no property {key!r}{hint}", "unknown"))
            continue
        if field.readonly and mode != "read":
            problems.append(Problem(where, f"read-only in {s.name}: only Azure sets it", "readonly"))
            continue
        if field.writeonly and mode == "read":
            problems.append(Problem(where, f"write-only in {s.name}: Azure never returns it", "readonly"))
        if item is None:
            continue  # JSON null: "not given", which ARM reads as absent
        _value(field, field.spec, item, where, mode, problems)
    if mode == "create":
        for field in s.fields.values():
            if field.required and not field.readonly and value.get(field.name) is None:
                where = f"{path}.{field.name}" if path else field.name
                problems.append(Problem(where, f"required by {s.name}, not given", "missing"))


def _value(field, spec, item, where, mode, problems):
    kind = spec[0]
    if kind == "any":
        return
    if kind == "model":
        _walk(spec[1], item, where, mode, problems)
    elif kind in ("list", "dict"):
        expected = list if kind == "list" else dict
        if not isinstance(item, expected):
            problems.append(Problem(where, f"expected {'an array' if kind == 'list' else 'an object'}, got "
                                           f"{_json_type(item)}", "type"))
            return
        if kind == "list" and field.items and spec is field.spec:
            low, high = field.items
            if (low is not None and len(item) < low) or (high is not None and len(item) > high):
                problems.append(Problem(where, f"{len(item)} items, the model allows {low}..{high}", "range"))
        entries = enumerate(item) if kind == "list" else item.items()
        for key, entry in entries:
            if entry is not None:
                _value(field, spec[1], entry, f"{where}[{key}]" if kind == "list" else f"{where}.{key}", mode,
                       problems)
    else:
        _scalar(field, spec, item, where, problems)


def _scalar(field, spec, item, where, problems):
    kind = spec[0]
    ok = {"str": isinstance(item, str), "bool": isinstance(item, bool),
          "int": isinstance(item, int) and not isinstance(item, bool),
          "float": isinstance(item, (int, float)) and not isinstance(item, bool),
          "datetime": isinstance(item, str) and _is_datetime(item),
          "duration": isinstance(item, str) and bool(_DURATION.match(item)),
          "enum": isinstance(item, str)}[kind]
    if not ok:
        expected = {"datetime": "an ISO 8601 date-time string", "duration": "an ISO 8601 duration string",
                    "enum": "a string", "float": "a number", "int": "an integer", "bool": "true or false",
                    "str": "a string"}[kind]
        problems.append(Problem(where, f"expected {expected}, got {_json_type(item)} {item!r}", "type"))
        return
    if kind == "enum" and item.lower() not in spec[1]:
        known = ", ".join(sorted(spec[1]))
        problems.append(Problem(where, f"{item!r} is not a {spec[2]} (known: {known})", "enum"))
    if kind in ("int", "float") and field.bounds:
        low, high = field.bounds
        if (low is not None and item < low) or (high is not None and item > high):
            problems.append(Problem(where, f"{item} is outside {low}..{high}, the range the model states", "range"))
    if kind == "str" and field.pattern and not re.search(field.pattern, item):
        problems.append(Problem(where, f"{item!r} does not match the model's pattern {field.pattern}", "range"))


def _is_datetime(text):
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _json_type(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


# -- TypeSpec (model_base) models -------------------------------------------------------------------------------
def _typespec_schema(cls):
    package = sys.modules[cls.__module__.rsplit(".", 1)[0]]   # azure.mgmt.compute.models
    fields, discriminator = {}, None
    stated = _stated_bounds(cls)
    annotations = {}
    for base in reversed(cls.__mro__):
        annotations.update(getattr(base, "__annotations__", {}))
    for base in reversed(cls.__mro__):
        for attr, rf in base.__dict__.items():
            if attr.startswith("_") or type(rf).__name__ != "_RestField":
                continue
            name = rf._rest_name_input or attr
            visibility = rf._visibility or ["read", "create", "update", "delete", "query"]
            annotation = annotations.get(attr)
            optional, spec = _annotation(annotation, package)
            bounds = stated.get(attr) if spec[0] == "int" else None
            fields[name] = Field(name, spec, required=not optional, readonly=visibility == ["read"],
                                 writeonly="read" not in visibility, bounds=bounds)
            if rf._is_discriminator:
                discriminator = name
    result = Schema(cls.__name__, fields, discriminator)
    mapping = getattr(cls, "__mapping__", None)
    if discriminator and mapping:
        result.kinds = {value: _LazySchema(sub) for value, sub in mapping.items() if sub is not cls}
    return result


class _LazySchema(Schema):
    """A schema built on first use: models refer to each other (and to themselves) through their fields."""

    def __init__(self, cls):  # pylint: disable=super-init-not-called (built on first use, in __getattr__)
        self._cls = cls

    def __getattr__(self, name):
        if name in ("name", "fields", "discriminator", "kinds", "open"):
            return getattr(schema(self._cls), name)
        raise AttributeError(name)


def _annotation(annotation, package):
    """(optional, spec) of one field's annotation."""
    if annotation is None or annotation is typing.Any:
        return True, ("any",)
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
    if isinstance(annotation, typing.ForwardRef):
        return False, _named(annotation.__forward_arg__, package)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        named = [_named(a.__forward_arg__, package) if isinstance(a, typing.ForwardRef) else None for a in rest]
        enums = [n for n in named if n and n[0] == "enum"]
        if str in rest and enums:
            return optional, enums[0]
        if len(rest) == 1:
            return optional, _annotation(rest[0], package)[1]
        return optional, ("any",)
    if origin in (list, typing.List):
        return False, ("list", _annotation(args[0], package)[1])
    if origin in (dict, typing.Dict):
        return False, ("dict", _annotation(args[1], package)[1])
    if origin is typing.Literal:
        return False, ("enum", frozenset(str(getattr(a, "value", a)).lower() for a in args), "constant")
    simple = {str: ("str",), int: ("int",), float: ("float",), bool: ("bool",), datetime.datetime: ("datetime",),
              datetime.timedelta: ("duration",), bytes: ("str",), datetime.date: ("str",)}
    if annotation in simple:
        return False, simple[annotation]
    if isinstance(annotation, type):
        return False, _class_spec(annotation)
    return False, ("any",)


def _named(name, package):
    cls = getattr(package, name.rsplit(".", 1)[-1], None)
    return _class_spec(cls) if cls is not None else ("any",)


def _class_spec(cls):
    if hasattr(cls, "__members__"):   # an enum
        return "enum", frozenset(str(m.value).lower() for m in cls), cls.__name__
    return "model", _LazySchema(cls)


def _stated_bounds(cls):
    """attribute -> (low, high) of integer properties whose docstring states a range, from `:ivar x:` entries."""
    bounds = {}
    for base in cls.__mro__:
        doc = base.__dict__.get("__doc__") or ""
        for attr, text in re.findall(r":ivar (\w+):(.*?)(?=:vartype|:ivar|\Z)", doc, re.DOTALL):
            found = _RANGE.search(" ".join(text.split()))
            if found and attr not in bounds:
                bounds[attr] = (int(found.group(1)), int(found.group(2)))
    return bounds


# -- msrest models ----------------------------------------------------------------------------------------------
def _msrest_schema(cls):
    package = sys.modules[cls.__module__.rsplit(".", 1)[0]]
    rules = getattr(cls, "_validation", {})
    root = Schema(cls.__name__, {})
    for attr, entry in cls._attribute_map.items():
        if entry["key"] == "":   # additional_properties: the object takes keys the model does not name
            root.open = True
            continue
        parts = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", entry["key"])]
        rule = rules.get(attr, {})
        holder = root
        for part in parts[:-1]:   # flattened: properties.profiles lives in a "properties" object
            existing = holder.fields.get(part)
            if existing is None:
                existing = holder.fields[part] = Field(part, ("model", Schema(f"{cls.__name__}.{part}", {})))
            existing.required = existing.required or bool(rule.get("required"))
            holder = existing.spec[1]
        spec = _msrest_type(entry["type"], package)
        holder.fields[parts[-1]] = Field(
            parts[-1], spec, required=bool(rule.get("required")), readonly=bool(rule.get("readonly")),
            bounds=(rule.get("minimum"), rule.get("maximum")) if "minimum" in rule or "maximum" in rule else None,
            items=(rule.get("min_items"), rule.get("max_items")) if "min_items" in rule or "max_items" in rule
            else None, pattern=rule.get("pattern"))
    subtypes = getattr(cls, "_subtype_map", None)
    if subtypes:
        attr, kinds = next(iter(subtypes.items()))
        key = cls._attribute_map[attr]["key"].replace("\\.", ".")
        root.discriminator = key
        root.kinds = {value: _LazySchema(getattr(package, name)) for value, name in kinds.items()}
    return root


def _msrest_type(text, package):
    if text.startswith("[") and text.endswith("]"):
        return "list", _msrest_type(text[1:-1], package)
    if text.startswith("{") and text.endswith("}"):
        return "dict", _msrest_type(text[1:-1], package)
    simple = {"str": ("str",), "int": ("int",), "long": ("int",), "float": ("float",), "bool": ("bool",),
              "iso-8601": ("datetime",), "rfc-1123": ("str",), "duration": ("duration",), "date": ("str",),
              "object": ("any",), "unix-time": ("int",), "bytearray": ("str",), "base64": ("str",)}
    if text in simple:
        return simple[text]
    cls = getattr(package, text, None)
    return _class_spec(cls) if cls is not None else ("any",)
