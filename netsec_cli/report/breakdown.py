"""Detection rate per attack name and per NSL-KDD category, counted chunk by chunk.

`AttackTally.add` takes the labels of one chunk's intrusion rows and whether each was detected;
`AttackTally.breakdown` turns the counts into rows. The category of a name comes from
`schema/nsl_kdd_categories.yaml` (shipped next to the NSL-KDD schema); names it does not list
have no category.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.schema import SHIPPED_SCHEMA_DIR

if TYPE_CHECKING:
    import numpy as np

CATEGORIES_FILE = SHIPPED_SCHEMA_DIR / "nsl_kdd_categories.yaml"
CATEGORY_ORDER = ("DoS", "Probe", "R2L", "U2R")


@dataclass
class AttackRow:
    """One attack name (or category): its rows and how many the model flagged."""

    name: str
    category: str | None
    rows: int
    detected: int
    detection_rate: float


@dataclass
class Breakdown:
    """Detection per attack name (most rows first) and per category (empty when no name has one)."""

    attacks: list[AttackRow] = field(default_factory=list)
    categories: list[AttackRow] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def attack_categories() -> dict[str, str]:
    """Attack name (lower case) → DoS | Probe | R2L | U2R."""
    import yaml

    try:
        raw = yaml.safe_load(CATEGORIES_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read {CATEGORIES_FILE}: {exc}") from None
    return {str(name).lower(): str(category) for category, names in raw.items() for name in names}


def category_of(name: str) -> str | None:
    """The NSL-KDD category of an attack name (case-insensitive, a trailing "." ignored)."""
    return attack_categories().get(name.strip().lower().rstrip("."))


class AttackTally:
    """Rows and detections per intrusion label, accumulated over chunks."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.detected: Counter[str] = Counter()

    def add(self, labels: np.ndarray, detected: np.ndarray) -> None:
        """Count one chunk's intrusion rows: their labels and whether each was flagged."""
        import numpy as np

        names, counts = np.unique(labels, return_counts=True)
        self.rows.update(dict(zip(names.tolist(), counts.tolist())))
        names, counts = np.unique(labels[detected], return_counts=True)
        self.detected.update(dict(zip(names.tolist(), counts.tolist())))

    def breakdown(self) -> Breakdown | None:
        """Per-attack and per-category rows; None when the intrusions carry a single label (a
        binary target), where the table would only repeat the detection rate."""
        if len(self.rows) < 2:
            return None
        attacks = [_row(name, category_of(name), rows, self.detected[name]) for name, rows in self.rows.items()]
        attacks.sort(key=lambda row: (-row.rows, row.name))
        totals: dict[str, list[int]] = {}
        for row in attacks:
            if row.category is not None:
                total = totals.setdefault(row.category, [0, 0])
                total[0] += row.rows
                total[1] += row.detected
        categories = [_row(name, name, *totals[name]) for name in CATEGORY_ORDER if name in totals]
        unmatched = [row for row in attacks if row.category is None]
        if categories and unmatched:
            categories.append(_row("other", None, sum(r.rows for r in unmatched), sum(r.detected for r in unmatched)))
        return Breakdown(attacks=attacks, categories=categories)


def _row(name: str, category: str | None, rows: int, detected: int) -> AttackRow:
    return AttackRow(name=name, category=category, rows=rows, detected=detected, detection_rate=round(detected / rows, 6) if rows else 0.0)
