"""Shamir secret sharing over GF(2^8), as sops uses it for several key groups (sops-format.md 9).

sops splits the data key with HashiCorp Vault's scheme: each share is the polynomial's value for
every secret byte followed by one byte, its x coordinate; the field is GF(2^8) with the AES
polynomial x^8 + x^4 + x^3 + x + 1. Recombining is Lagrange interpolation at x = 0.
"""

from __future__ import annotations

from collections.abc import Sequence


class ShareError(ValueError):
    """Shares that cannot be combined (too short, different lengths, repeated coordinates)."""


def _mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return product


def _inverse(a: int) -> int:
    result, power, exponent = 1, a, 254
    while exponent:
        if exponent & 1:
            result = _mul(result, power)
        power = _mul(power, power)
        exponent >>= 1
    return result


def combine(shares: Sequence[bytes]) -> bytes:
    """The secret from at least the threshold number of shares (each `values… + x`)."""
    if len(shares) < 2:
        raise ShareError("at least two shares are needed")
    length = len(shares[0])
    if length < 2 or any(len(share) != length for share in shares):
        raise ShareError("shares must have one length of at least two bytes")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ShareError("shares must have distinct, non-zero x coordinates")
    weights = []
    for i, xi in enumerate(xs):
        weight = 1
        for j, xj in enumerate(xs):
            if i != j:
                weight = _mul(weight, _mul(xj, _inverse(xi ^ xj)))
        weights.append(weight)
    secret = bytearray(length - 1)
    for position in range(length - 1):
        value = 0
        for share, weight in zip(shares, weights):
            value ^= _mul(share[position], weight)
        secret[position] = value
    return bytes(secret)
