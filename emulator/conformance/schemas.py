"""Load the Gen1 JSON Schemas in ``profiles/schemas`` for one (model, endpoint, firmware).

The schema files are draft 2020-12 plus five gate keywords that say how a field changed across
firmware (the dates come from the doc changelog quoted in ``profiles/schemas/README.md`` and from
``../shared/captures``). This module applies the gates for a firmware version and hands out
ordinary ``jsonschema`` validators, so the rest of the code never sees a gate keyword:

``x-since: V``           on a property: absent before V (the firmware did not have it yet).
``x-until: V``           on a property: absent from V on (the firmware removed it).
``x-required-since: V``  on a property listed in ``required``: optional before V.
``x-required-until: V``  on a property listed in ``required``: optional from V on.
``x-before: {V: S}``     on any schema: replaced by S when the firmware is older than V (the
                         smallest such V wins); used where a field changed type.

Example::

    v = validator("SHSW-1", "status", "20230913-112003/v1.14.0-gcb84623")
    problems = errors_of(v, body)          # [] when the body conforms
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "Endpoint",
    "ModelInfo",
    "SchemaGateError",
    "errors_of",
    "model_info",
    "models",
    "parse_fw",
    "parse_version",
    "schema",
    "validator",
]

Version = tuple[int, int, int]
BASE_URI = "https://shelly-emu.invalid/schemas/"
PROPERTY_GATES = ("x-since", "x-until", "x-required-since", "x-required-until")
_FW_VERSION = re.compile(r"v(\d+)\.(\d+)(?:\.(\d+))?")


class SchemaGateError(ValueError):
    """A gate keyword sits where it has no meaning (it would silently do nothing)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One per-channel or optional endpoint of a model (``profiles/schemas/models.json``)."""

    name: str
    path: str
    channels: str | None = None
    mode: str | None = None
    since: str | None = None

    def available(self, fw: Version, mode: str | None) -> bool:
        """Whether a device at ``fw`` in settings ``mode`` serves this endpoint."""
        if self.since is not None and fw < parse_version(self.since):
            return False
        return self.mode is None or self.mode == mode


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the conformance checks need to know about a model beyond its schemas."""

    model: str
    name: str
    sleep_mode: bool = False
    coiot_v1_only: bool = False
    endpoints: dict[str, Endpoint] = field(default_factory=dict)


def parse_version(text: str) -> Version:
    """``"1.6"`` -> ``(1, 6, 0)``."""
    parts = [int(p) for p in text.split(".")]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = (*parts, 0, 0)[:3]
    return major, minor, patch


def parse_fw(fw: str) -> Version:
    """Version of a firmware id: ``20190711-084016/v1.5.0-hotfix4@3b4f7414`` -> ``(1, 5, 0)``.

    Release candidates count as their release (``v1.6.0-rc4`` -> 1.6.0): the captures of
    1.6.0-rc4/rc6 already carry every 1.6.0 change listed in the changelog.
    """
    match = _FW_VERSION.search(fw)
    if match is None:
        raise ValueError(f"no vX.Y[.Z] in firmware id {fw!r}")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _as_version(fw: str | Version) -> Version:
    return parse_fw(fw) if isinstance(fw, str) else fw


def _read(relpath: str) -> Any:
    return json.loads((resources.files("profiles") / "schemas" / relpath).read_text())


def _pick_variant(node: Any, fw: Version) -> Any:
    """Resolve ``x-before``: the variant for the smallest version above ``fw``, else the node."""
    if not isinstance(node, dict) or "x-before" not in node:
        return node
    newer = sorted(
        (parse_version(v), variant)
        for v, variant in node["x-before"].items()
        if fw < parse_version(v)
    )
    if newer:
        return newer[0][1]
    return {k: v for k, v in node.items() if k != "x-before"}


def _absence(sub: Any, fw: Version) -> str | None:
    """Why a property must be absent at ``fw`` (its gate), or None when it may be present."""
    if not isinstance(sub, dict):
        return None
    if "x-since" in sub and fw < parse_version(sub["x-since"]):
        return f"absent: firmware before {sub['x-since']} did not write it"
    if "x-until" in sub and fw >= parse_version(sub["x-until"]):
        return f"absent: firmware {sub['x-until']} and later removed it"
    return None


def _may_require(sub: Any, fw: Version) -> bool:
    """False when an ``x-required-*`` gate makes a property optional at ``fw``."""
    if not isinstance(sub, dict):
        return True
    return not (
        ("x-required-since" in sub and fw < parse_version(sub["x-required-since"]))
        or ("x-required-until" in sub and fw >= parse_version(sub["x-required-until"]))
    )


def apply_gates(node: Any, fw: Version, *, where: str = "#") -> Any:
    """A copy of ``node`` with every gate keyword applied for firmware ``fw`` and removed."""
    node = _pick_variant(node, fw)
    if isinstance(node, list):
        return [apply_gates(n, fw, where=f"{where}/{i}") for i, n in enumerate(node)]
    if not isinstance(node, dict):
        return node
    misplaced = [k for k in PROPERTY_GATES if k in node]
    if misplaced:
        raise SchemaGateError(f"{where}: {misplaced} only mean something on a property")
    out = {
        k: apply_gates(v, fw, where=f"{where}/{k}")
        for k, v in node.items()
        if k not in ("properties", "x-before")
    }
    if "properties" in node:
        required = list(out.get("required", []))
        props: dict[str, Any] = {}
        for name, sub in node["properties"].items():
            sub = _pick_variant(sub, fw)
            absent = _absence(sub, fw)
            if (absent or not _may_require(sub, fw)) and name in required:
                required.remove(name)
            if absent:
                # not {} rather than false: jsonschema keeps the error path for it
                props[name] = {"not": {}, "$comment": absent}
                continue
            if isinstance(sub, dict):
                sub = {k: v for k, v in sub.items() if k not in PROPERTY_GATES}
            props[name] = apply_gates(sub, fw, where=f"{where}/properties/{name}")
        out["properties"] = props
        if "required" in out:
            out["required"] = required
    return out


def _retrieve(fw: Version, uri: str) -> Resource[Any]:
    if not uri.startswith(BASE_URI):
        raise LookupError(f"schemas only refer to each other, not to {uri}")
    relpath = uri.removeprefix(BASE_URI)
    doc = apply_gates(_read(relpath), fw, where=relpath)
    return Resource.from_contents(doc, default_specification=DRAFT202012)


@cache
def _registry(fw: Version) -> Registry[Any]:
    return Registry(retrieve=lambda uri: _retrieve(fw, uri))  # type: ignore[call-arg]


def schema(model: str, endpoint: str, fw: str | Version) -> dict[str, Any]:
    """The gated schema document of ``profiles/schemas/<model>/<endpoint>.json``.

    ``$ref`` stay relative; use :func:`validator` to validate with them resolved.
    """
    version = _as_version(fw)
    relpath = f"{model}/{endpoint}.json"
    doc = apply_gates(_read(relpath), version, where=relpath)
    return {"$id": BASE_URI + relpath, **doc}


@cache
def _validator(model: str, endpoint: str, fw: Version) -> Draft202012Validator:
    return Draft202012Validator(schema(model, endpoint, fw), registry=_registry(fw))


def validator(model: str, endpoint: str, fw: str | Version) -> Draft202012Validator:
    """A ready validator for one endpoint of ``model`` at firmware ``fw`` (id or version).

    ``model`` may be ``"common"`` for shared documents, with ``endpoint`` naming the file and an
    optional ``#/$defs/...`` pointer, e.g. ``validator("common", "coiot#/$defs/cit_s", fw)``.
    """
    version = _as_version(fw)
    if "#" in endpoint:
        file, pointer = endpoint.split("#", 1)
        root = {"$ref": f"{BASE_URI}{model}/{file}.json#{pointer}"}
        return Draft202012Validator(root, registry=_registry(version))
    return _validator(model, endpoint, version)


def errors_of(v: Draft202012Validator, instance: Any) -> list[str]:
    """Every violation as ``path: message``, sorted, so reports name the offending field."""

    def describe(errs: Iterator[Any]) -> Iterator[str]:
        for err in errs:
            path = "/".join(str(p) for p in err.absolute_path) or "(root)"
            comment = err.schema.get("$comment", "") if isinstance(err.schema, dict) else ""
            yield (
                f"{path}: {comment}" if comment.startswith("absent:") else f"{path}: {err.message}"
            )

    return sorted(describe(v.iter_errors(instance)))


@cache
def _manifest() -> Mapping[str, Any]:
    return _read("models.json")["models"]  # type: ignore[no-any-return]


def models() -> list[str]:
    """Model codes that have a schema set."""
    return sorted(_manifest())


def model_info(model: str) -> ModelInfo:
    """Endpoints and traits of ``model``; ``KeyError`` for a model without schemas."""
    raw = _manifest()[model]
    endpoints = {name: Endpoint(name=name, **spec) for name, spec in raw["endpoints"].items()}
    return ModelInfo(
        model=model,
        name=raw["name"],
        sleep_mode=raw.get("sleep_mode", False),
        coiot_v1_only=raw.get("coiot_v1_only", False),
        endpoints=endpoints,
    )
