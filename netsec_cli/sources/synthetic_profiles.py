"""The traffic profiles the synthetic generator draws from (`synthetic.py`): one per kind of flow.

Each profile names its label, its share of rows, how services and flags are drawn, and a column
draw (a function of a random generator and a row count) for every numeric column it sets; columns
a profile leaves out are zero. The shares are NSL-KDD-like: a little over half normal traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Rng = np.random.Generator
Column = Callable[[Rng, int], np.ndarray]

PROTOCOL_OF = {
    "http": "tcp", "smtp": "tcp", "ftp": "tcp", "ftp_data": "tcp", "telnet": "tcp", "ssh": "tcp",
    "pop_3": "tcp", "imap4": "tcp", "finger": "tcp", "auth": "tcp", "sunrpc": "tcp", "private": "tcp",
    "other": "tcp", "domain": "tcp", "login": "tcp", "uucp": "tcp", "bgp": "tcp", "whois": "tcp",
    "domain_u": "udp", "ntp_u": "udp", "tftp_u": "udp",
    "ecr_i": "icmp", "eco_i": "icmp", "urp_i": "icmp", "tim_i": "icmp",
}  # fmt: skip
TCP_SERVICES = [s for s, p in PROTOCOL_OF.items() if p == "tcp"]
FLAGS = ["SF", "S0", "REJ", "RSTO", "RSTR", "SH", "S1", "S2", "S3", "OTH", "RSTOS0"]
RATE_COLUMNS_WITH_GAPS = ("same_srv_rate", "srv_diff_host_rate", "dst_host_same_srv_rate", "dst_host_srv_diff_host_rate")
MISSING_SHARE = 0.01
NOISE_SHARE = 0.03


def _const(value: float) -> Column:
    return lambda rng, n: np.full(n, value)


def _ints(low: int, high: int) -> Column:
    """Uniform integers in [low, high]."""
    return lambda rng, n: rng.integers(low, high + 1, n)


def _rate(a: float, b: float) -> Column:
    """A rate in [0, 1] from Beta(a, b), rounded to two decimals like NSL-KDD."""
    return lambda rng, n: np.round(rng.beta(a, b, n), 2)


def _lognormal(mean: float, sigma: float, cap: int = 5_000_000) -> Column:
    return lambda rng, n: np.minimum(np.round(rng.lognormal(mean, sigma, n)), cap)


def _pick(values: list[float], weights: list[float]) -> Column:
    arr, p = np.asarray(values), np.asarray(weights) / np.sum(weights)
    return lambda rng, n: arr[rng.choice(len(arr), n, p=p)]


def _sometimes(share: float, then: Column, otherwise: Column) -> Column:
    """`then` for roughly `share` of the rows, `otherwise` for the rest."""
    return lambda rng, n: np.where(rng.random(n) < share, then(rng, n), otherwise(rng, n))


@dataclass
class Profile:
    """One kind of traffic: its label, share of rows, categorical draws and numeric columns."""

    label: str
    share: float
    services: tuple[list[str], list[float]]
    flags: tuple[list[str], list[float]]
    numbers: dict[str, Column] = field(default_factory=dict)


NORMAL_SERVICES = (
    ["http", "smtp", "ftp_data", "domain_u", "ftp", "other", "private",
     "telnet", "ecr_i", "eco_i", "pop_3", "ntp_u", "urp_i", "ssh"],
    [0.42, 0.11, 0.10, 0.10, 0.04, 0.04, 0.04, 0.02, 0.03, 0.02, 0.03, 0.02, 0.02, 0.01],
)
PROFILES: list[Profile] = [
    Profile(
        "normal", 0.55, NORMAL_SERVICES,
        (["SF", "S1", "REJ", "RSTO", "S0", "RSTR", "SH"], [0.93, 0.02, 0.02, 0.01, 0.01, 0.005, 0.005]),
        {
            "duration": _sometimes(0.1, _lognormal(4.0, 2.0, 40_000), _const(0)),
            "src_bytes": _lognormal(5.6, 1.1),
            "dst_bytes": _sometimes(0.8, _lognormal(7.5, 1.6), _const(0)),
            "hot": _sometimes(0.05, _ints(1, 6), _const(0)),
            "logged_in": _sometimes(0.7, _const(1), _const(0)),
            "num_compromised": _sometimes(0.005, _ints(1, 3), _const(0)),
            "num_file_creations": _sometimes(0.01, _ints(1, 4), _const(0)),
            "num_access_files": _sometimes(0.005, _const(1), _const(0)),
            "is_guest_login": _sometimes(0.005, _const(1), _const(0)),
            "count": _ints(1, 25),
            "srv_count": _ints(1, 30),
            "serror_rate": _sometimes(0.03, _rate(2, 5), _const(0.0)),
            "rerror_rate": _sometimes(0.04, _rate(2, 5), _const(0.0)),
            "same_srv_rate": _rate(12, 1),
            "diff_srv_rate": _sometimes(0.2, _rate(1, 8), _const(0.0)),
            "srv_diff_host_rate": _sometimes(0.3, _rate(1, 3), _const(0.0)),
            "dst_host_count": _ints(1, 255),
            "dst_host_srv_count": _sometimes(0.6, _const(255), _ints(1, 254)),
            "dst_host_same_srv_rate": _rate(8, 1),
            "dst_host_diff_srv_rate": _rate(1, 20),
            "dst_host_same_src_port_rate": _rate(1, 6),
            "dst_host_srv_diff_host_rate": _rate(1, 12),
            "dst_host_serror_rate": _sometimes(0.05, _rate(1, 4), _const(0.0)),
            "dst_host_rerror_rate": _sometimes(0.05, _rate(1, 4), _const(0.0)),
            "difficulty": _ints(17, 21),
        },
    ),
    Profile(
        "neptune", 0.20,
        (["private", "other", "http", "telnet", "ftp_data", "smtp", "finger",
          "sunrpc", "auth", "uucp", "bgp", "whois", "login"],
         [0.55, 0.06, 0.04, 0.04, 0.03, 0.03, 0.04, 0.04, 0.04, 0.04, 0.03, 0.03, 0.03]),
        (["S0", "REJ", "SH"], [0.88, 0.11, 0.01]),
        {
            "count": _ints(100, 511),
            "srv_count": _ints(1, 30),
            "serror_rate": _rate(60, 1),
            "srv_serror_rate": _rate(60, 1),
            "same_srv_rate": _rate(1, 15),
            "diff_srv_rate": _rate(2, 30),
            "dst_host_count": _const(255),
            "dst_host_srv_count": _ints(1, 30),
            "dst_host_same_srv_rate": _rate(1, 15),
            "dst_host_diff_srv_rate": _rate(2, 30),
            "dst_host_serror_rate": _rate(60, 1),
            "dst_host_srv_serror_rate": _rate(60, 1),
            "difficulty": _ints(18, 21),
        },
    ),
    Profile(
        "smurf", 0.08, (["ecr_i"], [1.0]), (["SF"], [1.0]),
        {
            "src_bytes": _pick([1032, 520], [0.7, 0.3]),
            "count": _sometimes(0.8, _const(511), _ints(200, 510)),
            "same_srv_rate": _const(1.0),
            "dst_host_count": _const(255),
            "dst_host_srv_count": _const(255),
            "dst_host_same_srv_rate": _const(1.0),
            "dst_host_same_src_port_rate": _rate(40, 1),
            "difficulty": _ints(18, 21),
        },
    ),
    Profile(
        "portsweep", 0.045, (TCP_SERVICES, [1.0] * len(TCP_SERVICES)),
        (["REJ", "RSTR", "RSTO", "SF"], [0.45, 0.3, 0.15, 0.1]),
        {
            "duration": _sometimes(0.1, _ints(1000, 40000), _const(0)),
            "count": _ints(1, 5),
            "srv_count": _ints(1, 3),
            "rerror_rate": _rate(6, 2),
            "srv_rerror_rate": _rate(20, 1),
            "same_srv_rate": _rate(3, 3),
            "diff_srv_rate": _rate(2, 4),
            "dst_host_count": _ints(1, 60),
            "dst_host_srv_count": _ints(1, 5),
            "dst_host_same_srv_rate": _rate(1, 10),
            "dst_host_diff_srv_rate": _rate(6, 2),
            "dst_host_same_src_port_rate": _rate(12, 1),
            "dst_host_srv_diff_host_rate": _rate(1, 4),
            "dst_host_rerror_rate": _rate(6, 2),
            "dst_host_srv_rerror_rate": _rate(12, 1),
            "difficulty": _ints(12, 20),
        },
    ),
    Profile(
        "satan", 0.045, (list(PROTOCOL_OF), [1.0] * len(PROTOCOL_OF)),
        (["REJ", "S0", "SF", "RSTO"], [0.6, 0.1, 0.2, 0.1]),
        {
            "src_bytes": _sometimes(0.2, _ints(1, 60), _const(0)),
            "count": _ints(1, 300),
            "srv_count": _ints(1, 5),
            "rerror_rate": _rate(8, 2),
            "srv_rerror_rate": _rate(8, 2),
            "serror_rate": _sometimes(0.1, _rate(4, 2), _const(0.0)),
            "same_srv_rate": _rate(1, 12),
            "diff_srv_rate": _rate(6, 2),
            "dst_host_count": _const(255),
            "dst_host_srv_count": _ints(1, 10),
            "dst_host_same_srv_rate": _rate(1, 20),
            "dst_host_diff_srv_rate": _rate(6, 3),
            "dst_host_rerror_rate": _rate(8, 2),
            "dst_host_srv_rerror_rate": _rate(8, 2),
            "difficulty": _ints(14, 20),
        },
    ),
    Profile(
        "ipsweep", 0.03, (["eco_i", "ecr_i"], [0.9, 0.1]), (["SF"], [1.0]),
        {
            "src_bytes": _pick([8, 18, 20], [0.6, 0.3, 0.1]),
            "count": _ints(1, 3),
            "srv_count": _ints(1, 40),
            "same_srv_rate": _const(1.0),
            "srv_diff_host_rate": _rate(8, 2),
            "dst_host_count": _ints(1, 100),
            "dst_host_srv_count": _ints(1, 100),
            "dst_host_same_srv_rate": _rate(8, 2),
            "dst_host_same_src_port_rate": _rate(12, 1),
            "dst_host_srv_diff_host_rate": _rate(6, 3),
            "difficulty": _ints(15, 21),
        },
    ),
    Profile(
        "guess_passwd", 0.02, (["telnet", "ftp"], [0.85, 0.15]), (["RSTO", "SF", "S3"], [0.55, 0.4, 0.05]),
        {
            "duration": _ints(0, 5),
            "src_bytes": _ints(100, 150),
            "dst_bytes": _ints(150, 300),
            "hot": _sometimes(0.3, _const(1), _const(0)),
            "num_failed_logins": _sometimes(0.85, _const(1), _ints(2, 4)),
            "count": _ints(1, 2),
            "srv_count": _ints(1, 2),
            "same_srv_rate": _const(1.0),
            "dst_host_count": _ints(1, 255),
            "dst_host_srv_count": _ints(1, 60),
            "dst_host_same_srv_rate": _rate(3, 3),
            "dst_host_same_src_port_rate": _rate(1, 6),
            "dst_host_rerror_rate": _sometimes(0.5, _rate(4, 2), _const(0.0)),
            "difficulty": _ints(10, 19),
        },
    ),
    Profile(
        "back", 0.015, (["http"], [1.0]), (["SF", "RSTR"], [0.9, 0.1]),
        {
            "src_bytes": _pick([54540, 54540 + 1460], [0.9, 0.1]),
            "dst_bytes": _ints(7000, 8400),
            "hot": _const(2),
            "logged_in": _const(1),
            "num_compromised": _const(1),
            "count": _ints(1, 15),
            "srv_count": _ints(1, 15),
            "same_srv_rate": _const(1.0),
            "dst_host_count": _ints(20, 255),
            "dst_host_srv_count": _ints(20, 255),
            "dst_host_same_srv_rate": _rate(20, 1),
            "difficulty": _ints(15, 21),
        },
    ),
    Profile(
        "teardrop", 0.015, (["private"], [1.0]), (["SF"], [1.0]),
        {
            "src_bytes": _const(28),
            "wrong_fragment": _const(3),
            "count": _ints(1, 100),
            "srv_count": _ints(1, 100),
            "same_srv_rate": _const(1.0),
            "dst_host_count": _ints(1, 255),
            "dst_host_srv_count": _ints(1, 255),
            "dst_host_same_srv_rate": _rate(10, 1),
            "difficulty": _ints(16, 21),
        },
    ),
    Profile(
        # Low-and-slow misuse that looks like normal file transfer: the overlap keeps the
        # synthetic task from being perfectly separable, as real traffic never is.
        "warezclient", 0.025, (["ftp_data", "ftp"], [0.7, 0.3]), (["SF", "RSTO"], [0.95, 0.05]),
        {
            "duration": _sometimes(0.4, _lognormal(4.5, 2.0, 40_000), _const(0)),
            "src_bytes": _lognormal(6.4, 1.4),
            "dst_bytes": _sometimes(0.3, _lognormal(6.5, 1.5), _const(0)),
            "hot": _sometimes(0.35, _ints(1, 28), _const(0)),
            "logged_in": _const(1),
            "is_guest_login": _sometimes(0.3, _const(1), _const(0)),
            "num_file_creations": _sometimes(0.05, _ints(1, 3), _const(0)),
            "count": _ints(1, 12),
            "srv_count": _ints(1, 15),
            "same_srv_rate": _rate(12, 1),
            "srv_diff_host_rate": _sometimes(0.2, _rate(1, 3), _const(0.0)),
            "dst_host_count": _ints(1, 255),
            "dst_host_srv_count": _ints(1, 255),
            "dst_host_same_srv_rate": _rate(6, 2),
            "dst_host_diff_srv_rate": _rate(1, 15),
            "dst_host_same_src_port_rate": _rate(2, 4),
            "dst_host_srv_diff_host_rate": _rate(1, 10),
            "difficulty": _ints(8, 19),
        },
    ),

]
UDP_OVERRIDES = {"teardrop": "udp"}


SERVICES = list(PROTOCOL_OF)
PROTOCOLS = ["tcp", "udp", "icmp"]
