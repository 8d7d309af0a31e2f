"""The compute engine stages run their per-chunk work on: this process or a Dask cluster."""

from netsec_cli.compute.engine import DaskEngine, Engine, LocalEngine
from netsec_cli.compute.session import open_engine

__all__ = ["DaskEngine", "Engine", "LocalEngine", "open_engine"]
