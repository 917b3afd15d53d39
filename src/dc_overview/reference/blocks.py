"""Generated blocks inside a hand-written Markdown file, between marker comments.

<!-- BEGIN GENERATED: name -->
...generated text...
<!-- END GENERATED: name -->
"""

from __future__ import annotations

import re

BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED: {name} -->"
_BLOCK = re.compile(
    r"<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- END GENERATED: (?P=name) -->",
    re.DOTALL,
)


class MissingBlock(LookupError):
    """The file has no block with this name (or its END marker is missing)."""


def read_blocks(text: str) -> dict[str, str]:
    """Every generated block's body by name."""
    return {match["name"]: match["body"] for match in _BLOCK.finditer(text)}


def wrap(name: str, body: str) -> str:
    """A block: markers around the body, which ends with a newline."""
    body = body if body.endswith("\n") else body + "\n"
    return f"{BEGIN.format(name=name)}\n{body}{END.format(name=name)}"


def replace_blocks(text: str, bodies: dict[str, str]) -> str:
    """`text` with each named block's body replaced; MissingBlock when one is absent."""
    missing = sorted(set(bodies) - set(read_blocks(text)))
    if missing:
        raise MissingBlock(f"no generated block named {', '.join(missing)}")

    def substitute(match: re.Match[str]) -> str:
        name = match["name"]
        return wrap(name, bodies[name]) if name in bodies else match[0]

    return _BLOCK.sub(substitute, text)
