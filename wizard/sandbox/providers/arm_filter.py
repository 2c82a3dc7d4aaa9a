"""ARM's `$filter` grammar for resource lists (GET .../resources, GET .../resourcegroups).

What ARM documents for Resources - List and what az sends: `resourceType`, `name`, `resourceGroup`, `location`
compared with `eq` or `ne`; `tagName eq` (optionally with `tagValue eq`); `substringof('text', name)` and
`substringof('text', resourceGroup)`; `startswith(tagName, 'prefix')`; clauses joined with `and`. Keywords and
values compare case-insensitively, as ARM matches names, types and tags. Anything else is ARM's 400
InvalidFilterInQueryString ("Invalid $filter '...' specified in the query string."), as is `or`, which ARM only
half-supports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..arm import parse_id
from ..router import ArmError

FIELDS = {"resourcetype", "name", "resourcegroup", "location", "tagname", "tagvalue"}
RESOURCE_FIELDS = frozenset(FIELDS)
GROUP_FIELDS = frozenset({"tagname", "tagvalue"})
"""Resource groups - List filters by tag name and value only."""
_NEGATABLE = {"resourcetype", "name", "resourcegroup", "location"}
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<word>[A-Za-z][\w/.]*)|(?P<punct>[(),]))")


@dataclass(frozen=True)
class Clause:
    field: str
    """lower-case: resourcetype, name, resourcegroup, location, tagname, tagvalue"""
    op: str
    """eq, ne, substringof or startswith"""
    value: str


def invalid(raw: str) -> ArmError:
    return ArmError(400, "InvalidFilterInQueryString", f"Invalid $filter '{raw}' specified in the query string.")


def _tokens(raw: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(raw.rstrip()):
        m = _TOKEN.match(raw, pos)
        if m is None or m.end() == pos:
            raise invalid(raw)
        kind = m.lastgroup or ""
        text = m.group(kind)
        out.append((kind, text[1:-1].replace("''", "'") if kind == "str" else text))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, raw: str, allowed: frozenset[str]):
        self.raw, self.allowed, self.tokens, self.at = raw, allowed, _tokens(raw), 0

    def take(self, kind: str, text: str | None = None) -> str:
        if self.at >= len(self.tokens):
            raise invalid(self.raw)
        got_kind, got = self.tokens[self.at]
        if got_kind != kind or (text is not None and got.lower() != text):
            raise invalid(self.raw)
        self.at += 1
        return got

    def field(self) -> str:
        name = self.take("word").lower()
        if name not in self.allowed:
            raise invalid(self.raw)
        return name

    def clause(self) -> Clause:
        word = self.tokens[self.at][1].lower() if self.at < len(self.tokens) else ""
        if word == "substringof":
            self.take("word")
            self.take("punct", "(")
            value = self.take("str")
            self.take("punct", ",")
            field = self.field()
            self.take("punct", ")")
            if field not in ("name", "resourcegroup"):
                raise invalid(self.raw)
            return Clause(field, "substringof", value)
        if word == "startswith":
            self.take("word")
            self.take("punct", "(")
            field = self.field()
            self.take("punct", ",")
            value = self.take("str")
            self.take("punct", ")")
            if field != "tagname":
                raise invalid(self.raw)
            return Clause(field, "startswith", value)
        field = self.field()
        op = self.take("word").lower()
        if op not in ("eq", "ne") or (op == "ne" and field not in _NEGATABLE):
            raise invalid(self.raw)
        return Clause(field, op, self.take("str"))

    def parse(self) -> list[Clause]:
        clauses = [self.clause()]
        while self.at < len(self.tokens):
            self.take("word", "and")
            clauses.append(self.clause())
        return clauses


def parse(raw: str, allowed: frozenset[str] = RESOURCE_FIELDS) -> list[Clause]:
    """The clauses of a $filter ([] for none); ARM's 400 for anything outside the grammar."""
    if not raw.strip():
        return []
    clauses = _Parser(raw, allowed).parse()
    tag_names = [c for c in clauses if c.field == "tagname"]
    tag_values = [c for c in clauses if c.field == "tagvalue"]
    # One tag filter at a time, and a tag value only with the name it belongs to.
    if len(tag_names) > 1 or len(tag_values) > 1 or (tag_values and not tag_names) \
            or (tag_values and tag_names[0].op != "eq"):
        raise invalid(raw)
    return clauses


def filters_by_tag(clauses: list[Clause]) -> bool:
    return any(c.field == "tagname" for c in clauses)


def _field_value(resource: dict[str, Any], field: str) -> str:
    if field == "resourcetype":
        return str(resource.get("type", ""))
    if field == "name":
        return str(resource.get("name", ""))
    if field == "location":
        return str(resource.get("location", "")).replace(" ", "")
    return parse_id(str(resource.get("id", ""))).get("resourceGroup", "")


def matches(resource: dict[str, Any], clauses: list[Clause]) -> bool:
    tags = {str(k).lower(): str(v) for k, v in (resource.get("tags") or {}).items()}
    tag_value = next((c.value.lower() for c in clauses if c.field == "tagvalue"), None)
    for c in clauses:
        wanted = c.value.lower()
        if c.field == "tagvalue":
            continue
        if c.field == "tagname":
            if c.op == "startswith":
                if not any(k.startswith(wanted) for k in tags):
                    return False
            elif wanted not in tags or (tag_value is not None and tags[wanted].lower() != tag_value):
                return False
            continue
        actual = _field_value(resource, c.field).lower()
        if c.field == "location":
            wanted = wanted.replace(" ", "")
        ok = wanted in actual if c.op == "substringof" else actual == wanted
        if ok == (c.op == "ne"):
            return False
    return True
