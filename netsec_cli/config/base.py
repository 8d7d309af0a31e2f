"""The base of every config section and the helpers sections share."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def shown(value: Any, limit: int = 40) -> str:
    """`repr(value)`, cut to `limit` characters: how a bad value is quoted in an error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: taskset, cgroup cpusets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS)
        return max(1, os.cpu_count() or 1)
