"""What every resource module of the sandbox catalog shares: the seeded dice, dates, locales and the
asset systems' collection attributes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

AssetSystem = Literal["new", "old"]
#: ``new``: the Asset Manager (PIM >= 4.0); ``old``: the PAM (PIM <= 3.2). A PIM has one or the other.
ASSET_SYSTEMS: tuple[AssetSystem, ...] = ("new", "old")

_UPDATED_FROM = datetime(2026, 1, 1, tzinfo=UTC)
_UPDATED_TO = datetime(2026, 11, 1, tzinfo=UTC)
_UPDATED_SPAN = int((_UPDATED_TO - _UPDATED_FROM).total_seconds())

_ECOMMERCE_LOCALES = ("de_DE", "en_US", "fr_FR")
_PRINT_LOCALES = ("en_US",)
_ASSOCIATION_TYPES = ("PACK", "SUBSTITUTION", "UPSELL", "X_SELL")

_NAMES = {
    "shoes": {"en_US": "Trail running shoe", "fr_FR": "Chaussure de trail", "de_DE": "Traillaufschuh"},
    "shirts": {"en_US": "Oxford shirt", "fr_FR": "Chemise Oxford", "de_DE": "Oxford-Hemd"},
    "accessories": {"en_US": "Leather belt", "fr_FR": "Ceinture en cuir", "de_DE": "Ledergürtel"},
}

# Product asset collection attribute -> asset group. A group is the asset family (new system) or the kind of
# PAM asset (the PAM has no families); both systems use the same product attribute codes where they can.
_COLLECTIONS: dict[AssetSystem, tuple[tuple[str, str], ...]] = {
    "new": (
        ("packshots", "packshots"),
        ("lifestyle_assets", "lifestyle"),
        ("cdn_images", "cdn_images"),
        ("user_guides", "user_guides"),
    ),
    "old": (("packshots", "packshots"), ("lifestyle_assets", "lifestyle"), ("user_guides", "user_guides")),
}
# Collection attributes of each product family (shirts come without a user guide).
_FAMILY_COLLECTIONS = {
    "shoes": ("packshots", "lifestyle_assets", "cdn_images", "user_guides"),
    "shirts": ("packshots", "lifestyle_assets", "cdn_images"),
    "accessories": ("packshots", "lifestyle_assets", "cdn_images", "user_guides"),
}


def _weighted(weights: tuple[tuple[str, int], ...], roll: int) -> str:
    """Return the key of ``weights`` that the 32-bit ``roll`` falls on, proportionally to the weights."""
    roll %= sum(weight for _, weight in weights)
    for key, weight in weights:
        if roll < weight:
            return key
        roll -= weight
    raise AssertionError("unreachable")


class _Dice:
    """Deterministic stream of numbers keyed by a tuple, independent of Python's ``random`` algorithms.

    ``random`` only promises a stable ``random()`` sequence across versions; a keyed BLAKE2 stream is stable
    everywhere and cheap enough to derive a product header in a few microseconds.
    """

    __slots__ = ("_buffer", "_counter", "_key", "_pos")

    def __init__(self, *parts: object) -> None:
        self._key = "|".join(map(str, parts)).encode("utf-8")
        self._counter = 0
        self._buffer = b""
        self._pos = 0

    def _u32(self) -> int:
        if self._pos + 4 > len(self._buffer):
            self._buffer = hashlib.blake2b(
                self._key + self._counter.to_bytes(4, "big"), digest_size=64
            ).digest()
            self._counter += 1
            self._pos = 0
        value = int.from_bytes(self._buffer[self._pos : self._pos + 4], "big")
        self._pos += 4
        return value

    def below(self, bound: int) -> int:
        """Return an integer in ``[0, bound)``."""
        return self._u32() % bound

    def between(self, low: int, high: int) -> int:
        """Return an integer in ``[low, high]``."""
        return low + self.below(high - low + 1)

    def chance(self, probability: float) -> bool:
        """Return ``True`` with the given probability."""
        return self._u32() < probability * 2**32

    def pick(self, options: tuple[Any, ...]) -> Any:
        """Return one of ``options``."""
        return options[self.below(len(options))]

    def weighted(self, weights: tuple[tuple[str, int], ...]) -> str:
        """Return a key of ``weights`` with probability proportional to its weight."""
        return _weighted(weights, self._u32())


def _freeze(resources: list[dict[str, Any]]) -> Mapping[str, dict[str, Any]]:
    return MappingProxyType({resource["code"]: resource for resource in sorted(resources, key=_code)})


def _code(resource: dict[str, Any]) -> str:
    return str(resource["code"])


def _labels(en: str, fr: str, de: str) -> dict[str, str]:
    return {"de_DE": de, "en_US": en, "fr_FR": fr}


def _iso(moment: datetime) -> str:
    """Format a date as Akeneo's ``DateTimeNormalizer`` does (ISO 8601 with offset; SaaS runs in UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
