"""What an import did (or, in a dry run, would do), one outcome per server, key or bad row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

RESULTS = ("imported", "updated", "unchanged", "held", "skipped")


@dataclass
class Outcome:
    """One thing from IPMI Monitor and what became of it here, with the reason."""

    kind: str  # "server", "key" or "row" (a row or file that could not be read)
    name: str  # the name here, or IPMI Monitor's when nothing was stored
    result: str  # one of RESULTS
    reason: str
    source: str  # where in IPMI Monitor it came from
    notes: list[str] = field(default_factory=list)
    record_id: int | None = None  # our server or key id (negative in a dry run: not stored)


@dataclass
class ImportReport:
    origin: str
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {result: sum(o.result == result for o in self.outcomes) for result in RESULTS}

    def of(self, kind: str, result: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind and result in (None, o.result)]

    @property
    def changed(self) -> bool:
        return any(o.result in ("imported", "updated") for o in self.outcomes)

    def as_dict(self) -> dict:
        return {
            "source": self.origin,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "outcomes": [asdict(o) for o in self.outcomes],
        }
