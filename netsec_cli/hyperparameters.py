"""The domains of the model hyperparameters netsec knows, checked when the config is loaded.

`model.hyperparameters` (XGBoost) and `model.catboost` are free-form mappings passed to the
library as they are; for the keys below a value outside its domain stops every command at config
load (exit 2, `model.hyperparameters.n_estimators: must be an integer ≥ 1, got 0`) instead of
surfacing mid-training. Other keys go to the library unchecked (a value it rejects stops train
with exit 2); `null` means the library's default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Rule = tuple[bool, str, Callable[[float], bool]]  # (integer only?, wording, test)

_AT_LEAST_1: Rule = (True, "≥ 1", lambda v: v >= 1)
_NON_NEGATIVE: Rule = (False, "≥ 0", lambda v: v >= 0)
_POSITIVE: Rule = (False, "> 0", lambda v: v > 0)
_FRACTION: Rule = (False, "in (0, 1]", lambda v: 0 < v <= 1)

DOMAINS: dict[str, dict[str, Rule]] = {
    "hyperparameters": {
        "n_estimators": _AT_LEAST_1,
        "max_depth": (True, "≥ 0", lambda v: v >= 0),
        "learning_rate": _POSITIVE,
        "subsample": _FRACTION,
        "colsample_bytree": _FRACTION,
        "min_child_weight": _NON_NEGATIVE,
        "reg_lambda": _NON_NEGATIVE,
        "reg_alpha": _NON_NEGATIVE,
        "scale_pos_weight": _POSITIVE,
    },
    "catboost": {
        "iterations": _AT_LEAST_1,
        "depth": (True, "from 1 to 16", lambda v: 1 <= v <= 16),
        "learning_rate": _POSITIVE,
        "l2_leaf_reg": _NON_NEGATIVE,
    },
}


def check_domains(section: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`params` with its known keys checked against the domains of `section` ("hyperparameters"
    or "catboost"): the params (a YAML 1.1 string such as `1e-3` for a real-valued key made a
    float) and a `key: must be …, got …` for each value outside its domain (booleans, NaN and
    infinities are never in one)."""
    checked, problems = dict(params), []
    for key, (integer, wording, test) in DOMAINS[section].items():
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, str) and not integer:
            try:
                checked[key] = value = float(value)
            except ValueError:
                pass
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not (number and (isinstance(value, int) or not integer) and test(value)):
            shown = repr(params[key]) if len(repr(params[key])) <= 40 else repr(params[key])[:37] + "..."
            problems.append(f"{key}: must be {'an integer' if integer else 'a number'} {wording}, got {shown}")
    return checked, problems
