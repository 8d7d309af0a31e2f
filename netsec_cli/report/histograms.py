"""Histograms of a reference and a current sample on common bins, as shares (no raw values kept).

`numeric_histogram` bins finite values on edges common to both sides (one bin per integer when a
column holds few integers); `categorical_histogram` keeps the categories with the highest combined
share and sums the rest as "other". Bin labels carry rounded edges only, so a page drawn from a
`Histogram` never embeds a row's value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

OTHER = "other"
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


@dataclass(frozen=True)
class Histogram:
    """Shares of the reference and current rows per bin (each sums to 1, or is all zeros for an
    empty side); `labels` are rounded numeric ranges or category values."""

    column: str
    labels: list[str]
    reference: list[float]
    current: list[float]


def numeric_histogram(column: str, reference: np.ndarray, current: np.ndarray, bins: int = 20) -> Histogram:
    """Shares per bin on `bins` equal-width bins common to both sides (finite values only: NaN and
    infinities are ignored); one bin for a constant column, one per value for few integers."""
    import numpy as np

    ref, cur = (np.asarray(side, dtype=np.float64) for side in (reference, current))
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    both = np.concatenate([ref, cur])
    if not both.size:
        return Histogram(column, [], [], [])
    lo, hi = float(both.min()), float(both.max())
    if lo == hi:
        return Histogram(column, _edge_labels([lo]), _shares([ref.size]), _shares([cur.size]))
    if np.all(both == np.round(both)) and hi - lo < bins:
        values = np.arange(lo, hi + 1.0)
        edges = np.append(values - 0.5, hi + 0.5)
        labels = _edge_labels(values.tolist())
    else:
        edges = np.linspace(lo, hi, max(bins, 1) + 1)
        shown = _edge_labels(edges.tolist())
        labels = [f"{a}–{b}" for a, b in pairwise(shown)]
    return Histogram(column, labels, _shares(np.histogram(ref, edges)[0]), _shares(np.histogram(cur, edges)[0]))


def categorical_histogram(column: str, reference: pd.Series, current: pd.Series, top: int = 12) -> Histogram:
    """Shares per category from value counts (indexed by value): the `top` categories by combined
    share (ties by name), the rest summed as "other"."""
    ref, cur = _by_label(reference), _by_label(current)
    ref_total, cur_total = sum(ref.values()), sum(cur.values())
    combined = {k: _share(ref.get(k, 0), ref_total) + _share(cur.get(k, 0), cur_total) for k in ref.keys() | cur.keys()}
    ranked = sorted(combined, key=lambda k: (-combined[k], k))
    kept, rest = ranked[:top], ranked[top:]
    ref_counts = [ref.get(k, 0) for k in kept]
    cur_counts = [cur.get(k, 0) for k in kept]
    labels = list(kept)
    if rest:
        labels.append(OTHER)
        ref_counts.append(sum(ref.get(k, 0) for k in rest))
        cur_counts.append(sum(cur.get(k, 0) for k in rest))
    return Histogram(column, labels, _shares(ref_counts), _shares(cur_counts))


def _by_label(counts: pd.Series) -> dict[str, float]:
    merged: dict[str, float] = {}
    for value, count in counts.items():
        merged[str(value)] = merged.get(str(value), 0.0) + float(count)
    return merged


def _share(count: float, total: float) -> float:
    return count / total if total else 0.0


def _shares(counts: Sequence[float] | np.ndarray) -> list[float]:
    """Counts as shares of their total, rounded to 6 places (all zeros when the total is 0)."""
    values = [float(c) for c in counts]
    total = sum(values)
    return [round(v / total, 6) if total else 0.0 for v in values]


def _edge_labels(edges: Sequence[float]) -> list[str]:
    """Edges rounded to the fewest significant digits (3 to 8) that keep neighbours distinct."""
    for digits in range(3, 9):
        labels = [_rounded(v, digits) for v in edges]
        if all(a != b for a, b in pairwise(labels)):
            break
    return labels


def _rounded(value: float, digits: int) -> str:
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return "0" if value == 0 or math.isclose(value, 0.0, abs_tol=1e-12) else f"{value:.{digits}g}"
