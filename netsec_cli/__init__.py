"""netsec: a network-intrusion-detection ML pipeline as one command-line tool."""

__version__ = "0.1.0"
