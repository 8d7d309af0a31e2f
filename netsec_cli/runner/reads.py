"""Which published folders each stage reads: one table for the fingerprints and the S3 root's pulls."""

from __future__ import annotations

# Stages not listed read none. train reads etl's training split for its drift reference.
READS: dict[str, tuple[str, ...]] = {
    "validate": ("etl",),
    "transform": ("etl",),
    "train": ("transform", "etl"),
    "predict": ("models",),
    "evaluate": ("models",),
    "serve": ("models",),
    "models": ("models",),
    "monitor": ("etl", "models"),
}
