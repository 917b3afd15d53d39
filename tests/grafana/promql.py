"""PromQL as dashboards and rules hold it: the queries of a dashboard, Grafana's variables
substituted the way Grafana does, and the vector selectors inside an expression."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

KEYWORDS = frozenset(
    ("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
     "group_right", "inf", "nan", "atan2")
)  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MODIFIER = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_SELECTOR = re.compile(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?")
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$", re.S)
# Grafana's own variables, replaced by concrete values fit for a short test run.
BUILTINS = {"$__rate_interval": "15s", "$__interval": "5s", "$__range": "1m"}


def panels(dashboard: Mapping) -> Iterator[Mapping]:
    """Every panel, rows' nested panels included."""
    for panel in dashboard.get("panels") or ():
        yield panel
        yield from panel.get("panels") or ()


def panel_queries(dashboard: Mapping) -> list[tuple[str, str]]:
    """(panel title / refId, expr) for every Prometheus target."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets") or ():
            if "expr" in target:
                found.append((f"{panel.get('title')} / {target.get('refId')}", target["expr"]))
    return found


def variables(dashboard: Mapping) -> list[tuple[str, str, str]]:
    """(name, expr, label) of each `label_values(expr, label)` query variable, in order."""
    result = []
    for variable in dashboard.get("templating", {}).get("list", ()):
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else ""
        match = _LABEL_VALUES.match(query.strip())
        assert match, f"variable {variable['name']}: not a label_values(expr, label) query"
        result.append((variable["name"], match.group(1), match.group(2)))
    return result


def substitute(expr: str, values: Mapping[str, list[str]]) -> str:
    """Replace Grafana's built-ins and `$name` variables (multi-value: `(a|b)`, like Grafana)."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value).replace("${" + name[1:] + "}", value)
    for name in sorted(values, key=len, reverse=True):
        escaped = [re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", v) for v in values[name]]
        regex = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        expr = expr.replace("${" + name + "}", regex).replace("$" + name, regex)
    assert "$" not in expr, f"unknown variable left in {expr}"
    return expr


def selectors(expr: str) -> list[str]:
    """The vector selectors (`name{matchers}`) of an expression, each queryable on its own."""
    strings: list[str] = []

    def mask(match: re.Match) -> str:
        strings.append(match.group(0))
        return f"\x00{len(strings) - 1}\x00"

    text = _STRING.sub(mask, expr)
    text = _MODIFIER.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    found = []
    for match in _SELECTOR.finditer(text):
        name, matchers, call = match.groups()
        if call or name.lower() in KEYWORDS:
            continue
        selector = name + (matchers or "")
        found.append(re.sub(r"\x00(\d+)\x00", lambda m: strings[int(m.group(1))], selector))
    return list(dict.fromkeys(found))
