"""Changes to a generated catalog, as a user of the PIM makes them between two imports.

The generated catalog is derived from ``(seed, index)`` and never stored; a change is an override
kept beside it, applied where the API shows a resource: a product's status, parent and values, a
product model's values, an asset's values, each with the ``updated`` date Akeneo stamps on a save;
a deleted product disappears from every list. With no change recorded the catalog is byte for byte
the generated one.

- ``enabled``: a product disabled or enabled again (filter.md, ``enabled``);
- ``parent``: a variant moved to another product model, or made a simple product (``None``); as in
  Akeneo, its values stay its own (the inherited ones included), and the ``parent`` filter follows
  the new parent;
- ``values``: attribute code -> the new list of values (``sku``'s: a new identifier), or ``None``
  to remove the attribute's values (the media ``_links`` of a copied value are dropped: a client
  downloads a media by its code; an Asset Manager client falls back to ``/asset-media-files/{code}``).
- ``pam_uploads``: a PAM asset given a new reference file (pam.md): its files become those of
  another asset of its kind (new file codes, new bytes, the PIM's variations generated again)
  at the same routes; the PAM shows no ``updated`` date and takes no ``updated`` filter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pim_sandbox.catalog.common import _iso

K = TypeVar("K")
V = TypeVar("V")

_UNSET: Any = object()
#: the catalog's identifier attribute (``pim_catalog_identifier``): a change of its value renames
#: the product
IDENTIFIER_ATTRIBUTE = "sku"


@dataclass
class _Change:
    updated: datetime
    values: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    enabled: bool | None = None
    ancestors: tuple[str, ...] | None = None
    deleted: bool = False


class _Tracked(dict[K, V]):
    """A dict that counts its changes in its owner's :attr:`CatalogChanges.revision` (a test may
    edit the dicts of :class:`CatalogChanges` directly, e.g. to restore them)."""

    def __init__(self, owner: CatalogChanges) -> None:
        super().__init__()
        self._owner = owner

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self._owner.revision += 1

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self._owner.revision += 1

    def __ior__(self, other: Any) -> _Tracked[K, V]:
        self._owner.revision += 1
        return super().__ior__(other)

    def clear(self) -> None:
        super().clear()
        self._owner.revision += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._owner.revision += 1

    def pop(self, *args: Any) -> Any:
        self._owner.revision += 1
        return super().pop(*args)

    def popitem(self) -> tuple[K, V]:
        self._owner.revision += 1
        return super().popitem()

    def setdefault(self, key: K, default: Any = None) -> Any:
        self._owner.revision += 1
        return super().setdefault(key, default)


class CatalogChanges:
    """The changes made to a catalog since it was generated (module docstring).

    :ivar revision: grows with every change (recorded, or made to the dicts directly), so that a
        cache of what the API shows can tell it is stale.
    """

    def __init__(self) -> None:
        self.revision = 0
        self.products: dict[int, _Change] = _Tracked(self)
        self.models: dict[str, _Change] = _Tracked(self)
        self.assets: dict[tuple[str | None, str], _Change] = _Tracked(self)
        #: PAM asset code -> the code of the asset whose files it now has
        self.pam_uploads: dict[str, str] = _Tracked(self)

    def __bool__(self) -> bool:
        return bool(self.products or self.models or self.assets or self.pam_uploads)

    # -- recording ---------------------------------------------------------------------------

    @staticmethod
    def _merge(change: _Change | None, updated: datetime, values: dict[str, Any] | None) -> _Change:
        change = change or _Change(updated)
        change.updated = updated
        for code, items in (values or {}).items():
            change.values[code] = None if items is None else [_without_links(v) for v in items]
        return change

    def change_product(
        self,
        index: int,
        updated: datetime,
        *,
        values: dict[str, list[dict[str, Any]] | None] | None = None,
        enabled: bool | None = None,
        ancestors: tuple[str, ...] | None = _UNSET,
        deleted: bool = False,
    ) -> None:
        """Record a save of product ``index``; ``ancestors``: the new parent then its own parent
        (``()`` for a simple product)."""
        change = self._merge(self.products.get(index), updated, values)
        if enabled is not None:
            change.enabled = enabled
        if ancestors is not _UNSET:
            change.ancestors = ancestors
        change.deleted = change.deleted or deleted
        self.products[index] = change

    def change_model(self, code: str, updated: datetime, values: dict[str, Any]) -> None:
        self.models[code] = self._merge(self.models.get(code), updated, values)

    def change_asset(self, family: str | None, code: str, updated: datetime, values: dict[str, Any]) -> None:
        self.assets[(family, code)] = self._merge(self.assets.get((family, code)), updated, values)

    def upload_pam_files(self, code: str, source: str) -> None:
        """Record a new reference file uploaded to PAM asset ``code``: the files of ``source``
        (an asset of the same kind), under ``code``'s routes."""
        self.pam_uploads[code] = source

    # -- applying -----------------------------------------------------------------------------

    def product_header(self, header: Any) -> Any:
        change = self.products.get(header.index)
        if change is None:
            return header
        updates: dict[str, Any] = {"updated": change.updated}
        identifier = change.values.get(IDENTIFIER_ATTRIBUTE)
        if identifier:  # a new identifier: filters and routes by identifier follow it, as in Akeneo
            updates["identifier"] = identifier[0]["data"]
        if change.enabled is not None:
            updates["enabled"] = change.enabled
        if change.ancestors is not None:
            updates["ancestors"] = change.ancestors
            updates["ancestors_updated"] = ()
        return dataclasses.replace(header, **updates)

    def inherits(self, index: int, ancestors: tuple[str, ...]) -> bool:
        """Whether a variant's inherited values may differ from the generated ones: it moved, or
        one of its ancestors changed."""
        change = self.products.get(index)
        return (change is not None and change.ancestors is not None) or any(
            a in self.models for a in ancestors
        )

    def deleted(self, index: int) -> bool:
        change = self.products.get(index)
        return change is not None and change.deleted

    def product(self, index: int, resource: dict[str, Any], header: Any) -> dict[str, Any]:
        change = self.products.get(index)
        if change is None:
            return resource
        resource["enabled"] = header.enabled
        resource["parent"] = header.parent
        resource["updated"] = _iso(change.updated)
        resource["values"] = _patched(resource["values"], change.values)
        return resource

    def model_header(self, header: Any) -> Any:
        change = self.models.get(header.code)
        return header if change is None else dataclasses.replace(header, updated=change.updated)

    def model(self, code: str, resource: dict[str, Any]) -> dict[str, Any]:
        change = self.models.get(code)
        if change is None:
            return resource
        resource["updated"] = _iso(change.updated)
        resource["values"] = _patched(resource["values"], change.values)
        return resource

    def asset_header(self, family: str | None, header: Any) -> Any:
        change = self.assets.get((family, header.code))
        return header if change is None else dataclasses.replace(header, updated=change.updated)

    def asset(self, family: str | None, code: str, resource: dict[str, Any]) -> dict[str, Any]:
        change = self.assets.get((family, code))
        if change is None:
            return resource
        if "updated" in resource:
            resource["updated"] = _iso(change.updated)
        resource["values"] = _patched(resource.get("values") or {}, change.values)
        return resource


def _patched(values: dict[str, Any], patch: dict[str, list[dict[str, Any]] | None]) -> dict[str, Any]:
    values = dict(values)
    for code, items in patch.items():
        if items is None:
            values.pop(code, None)
        else:
            values[code] = [dict(v) for v in items]
    return values


def _without_links(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ("_links", "_link")}
