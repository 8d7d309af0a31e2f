"""Per-column drift tests between two samples, with a multiple-testing correction.

Numeric columns: two-sample Kolmogorov–Smirnov. Categorical columns: chi-square on the 2×k
contingency table of category counts (categories seen fewer than `RARE_COUNT` times in both
samples together are pooled, so tiny expected counts do not inflate the statistic), or the
Population Stability Index. KS and chi-square p-values are corrected together with
Benjamini–Hochberg; PSI is a score, not a p-value, so a PSI column drifts when it reaches the
PSI threshold and takes no part in the correction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

RARE_COUNT = 10
PSI_EPSILON = 1e-4
CategoricalTest = Literal["chi2", "psi"]


@dataclass
class ColumnDrift:
    """The outcome of one column's drift test."""

    column: str
    kind: Literal["numerical", "categorical"]
    test: Literal["ks", "chi2", "psi"]
    statistic: float
    p_value: float | None
    p_adjusted: float | None
    drifted: bool

    def describe(self, alpha: float, psi_threshold: float) -> str:
        """One line saying why the column drifted (or not)."""
        if self.test == "psi":
            return f"PSI {self.statistic:.3f} (threshold {psi_threshold})"
        return f"{self.test.upper()} statistic {self.statistic:.3g}, adjusted p {self.p_adjusted:.2g} (threshold {alpha})"


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.clip(adjusted_sorted, 0.0, 1.0)
    return adjusted.tolist()


def ks_test(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """KS statistic and p-value on the non-missing values (no data on a side: no evidence, p = 1)."""
    return ks_arrays(reference.to_numpy(dtype=float, na_value=np.nan), current.to_numpy(dtype=float, na_value=np.nan))


def ks_arrays(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """`ks_test` on float arrays, NaN meaning missing."""
    from scipy.stats import ks_2samp

    a, b = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if len(a) == 0 or len(b) == 0:
        return 0.0, 1.0
    result = ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


def value_counts(values: pd.Series) -> pd.Series:
    """Counts per non-missing value, keyed by its string (the tables below start from these)."""
    return values.dropna().astype("string").value_counts()


def _category_counts(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts per category on each side (from `value_counts`), rare categories pooled into one bucket."""
    import pandas as pd

    table = pd.concat([ref, cur], axis=1, keys=["ref", "cur"]).fillna(0)
    rare = table.sum(axis=1) < RARE_COUNT
    if rare.any():
        pooled = table[rare].sum()
        table = pd.concat([table[~rare], pooled.to_frame().T])
    return table["ref"].to_numpy(dtype=float), table["cur"].to_numpy(dtype=float)


def chi2_test(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """Chi-square statistic and p-value of category frequencies (one category only: p = 1)."""
    return chi2_counts(value_counts(reference), value_counts(current))


def chi2_counts(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """`chi2_test` from the two sides' `value_counts`."""
    from scipy.stats import chi2_contingency

    ref, cur = _category_counts(reference, current)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if len(ref) < 2 or ref.sum() == 0 or cur.sum() == 0:
        return 0.0, 1.0
    statistic, p_value, _, _ = chi2_contingency(np.vstack([ref, cur]))
    return float(statistic), float(p_value)


def psi(reference: pd.Series, current: pd.Series) -> float:
    """Population Stability Index of category frequencies (0 = identical; > 0.2 is a large shift)."""
    return psi_counts(value_counts(reference), value_counts(current))


def psi_counts(reference: pd.Series, current: pd.Series) -> float:
    """`psi` from the two sides' `value_counts`."""
    ref, cur = _category_counts(reference, current)
    if ref.sum() == 0 or cur.sum() == 0:
        return 0.0
    p = np.maximum(ref / ref.sum(), PSI_EPSILON)
    q = np.maximum(cur / cur.sum(), PSI_EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def column_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical: Sequence[str],
    categorical: Sequence[str],
    *,
    alpha: float,
    categorical_test: CategoricalTest = "chi2",
    psi_threshold: float = 0.2,
) -> list[ColumnDrift]:
    """Test every listed column; p-value tests are BH-corrected and drift when adjusted p < alpha."""
    numeric = {
        c: (reference[c].to_numpy(dtype=float, na_value=np.nan), current[c].to_numpy(dtype=float, na_value=np.nan))
        for c in numerical
    }
    counts = {c: (value_counts(reference[c]), value_counts(current[c])) for c in categorical}
    return drift_tests(numeric, counts, alpha=alpha, categorical_test=categorical_test, psi_threshold=psi_threshold)


def drift_tests(
    numerical: Mapping[str, tuple[np.ndarray, np.ndarray]],
    categorical: Mapping[str, tuple[pd.Series, pd.Series]],
    *,
    alpha: float,
    categorical_test: CategoricalTest = "chi2",
    psi_threshold: float = 0.2,
) -> list[ColumnDrift]:
    """`column_drift` from float arrays (NaN missing) per numeric column and `value_counts` per categorical one."""
    results: list[ColumnDrift] = []
    for column, (ref_values, cur_values) in numerical.items():
        statistic, p_value = ks_arrays(ref_values, cur_values)
        results.append(ColumnDrift(column, "numerical", "ks", statistic, p_value, None, False))
    for column, (ref_counts, cur_counts) in categorical.items():
        if categorical_test == "psi":
            score = psi_counts(ref_counts, cur_counts)
            results.append(ColumnDrift(column, "categorical", "psi", score, None, None, score >= psi_threshold))
        else:
            statistic, p_value = chi2_counts(ref_counts, cur_counts)
            results.append(ColumnDrift(column, "categorical", "chi2", statistic, p_value, None, False))
    tested = [r for r in results if r.p_value is not None]
    for result, adjusted in zip(tested, benjamini_hochberg([r.p_value for r in tested])):  # type: ignore[misc]
        result.p_adjusted = adjusted
        result.drifted = adjusted < alpha
    return results
