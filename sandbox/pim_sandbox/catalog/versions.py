"""Akeneo versions the sandbox can be: what each serves, and in which shapes.

Users run Akeneo 2.x to 7.0 and SaaS; a connector that only meets the newest server fails at the
others. A profile says, for one version, which of the endpoints the pipeline reads exist and how
their answers differ (the Swagger file's ``x-versions`` and the concept pages in
``shared/specs/akeneo``: products.md, pam.md, catalog-structure.md):

=======  ===========  ================  ==========  ==============  =======================  ==========
profile  assets       ``products-uuid``  ``products``  model ``family``  ``system-information``  ``values``
=======  ===========  ================  ==========  ==============  =======================  ==========
3.1      PAM          404               yes         absent          404                      ``[]`` if empty
3.2      PAM          404               yes         yes             404                      ``[]`` if empty
5.0      Asset Mgr    404               yes         yes             404                      ``{}``
7.0      Asset Mgr    yes               yes         yes             ``7.0.x``, ``EE``          ``{}``
saas     Asset Mgr    yes               404         yes             ``v2026...``, ``Serenity``  ``{}``
=======  ===========  ================  ==========  ==============  =======================  ==========

- ``/products`` (by identifier) exists from 1.7 to 7.0; the project's specification has SaaS
  serve ``/products-uuid`` only, so the SaaS profile answers 404 there (never kinder than a real
  PIM). ``/products-uuid`` exists from 7.0.
- Items of ``/products`` carry the ``identifier`` key; before 7.0 they have no ``uuid``.
- ``GET /api/rest/v1/system-information`` (version and edition, no token needed) exists from 6.0
  and on SaaS (its description's table names the Serenity edition).
- Product models carry ``family`` from 3.2 on; a 3.1 or 2.x PIM gives only ``family_variant``.
- PHP encodes an empty ``values`` array as ``[]`` before 4.0, ``{}`` after.
- The PAM exists up to 3.x (removed in 4.0, pam.md); the profiles before 4.0 serve it, the others
  the Asset Manager. A PIM has one of them.
- Search filters each version takes (filter.md's availability notes): products on ``uuid`` from
  7.0; Asset Manager assets on ``code`` from 7.0, on ``updated`` with ``<``, ``BETWEEN``,
  ``NOT BETWEEN`` and ``SINCE LAST N DAYS`` from 6.0 (``>`` from 3.2); products on ``parent`` with
  ``=`` from 3.2, with ``IN``, ``EMPTY`` and ``NOT EMPTY`` from 7.0 (before 7.0 the 422 names
  ``ancestor.code``, the field Akeneo's API hands the filter to). A filter a version does not
  take gets its 422 (:meth:`AkeneoProfile.since`).

The default (no version given) is the newest version of the asset system asked for: 7.0 for the
Asset Manager, 3.2 for the PAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pim_sandbox.catalog.common import AssetSystem


@dataclass(frozen=True)
class AkeneoProfile:
    """What one Akeneo version serves, and in which shapes (module docstring).

    :ivar name: the version as users say it (``3.2``, ``7.0``, ``saas``).
    :ivar asset_system: ``old`` (PAM) or ``new`` (Asset Manager).
    :ivar products_uuid: ``/products-uuid`` is served.
    :ivar products_by_identifier: ``/products`` is served.
    :ivar product_uuids: items of ``/products`` carry a ``uuid``.
    :ivar model_family: product models carry ``family``.
    :ivar empty_values_as_list: an empty ``values`` is ``[]`` (PHP's empty array), not ``{}``.
    :ivar system_information: the body of ``GET /system-information``; ``None``: not served.
    """

    name: str
    asset_system: AssetSystem
    products_uuid: bool
    products_by_identifier: bool = True
    product_uuids: bool = False
    model_family: bool = True
    empty_values_as_list: bool = False
    system_information: dict[str, Any] | None = None

    def since(self, version: str) -> bool:
        """Whether this version is ``version`` (``major.minor``) or later; SaaS is later than all."""
        if self.name == "saas":
            return True
        return tuple(map(int, self.name.split("."))) >= tuple(map(int, version.split(".")))


PROFILES: dict[str, AkeneoProfile] = {
    profile.name: profile
    for profile in (
        AkeneoProfile("3.1", "old", products_uuid=False, model_family=False, empty_values_as_list=True),
        AkeneoProfile("3.2", "old", products_uuid=False, empty_values_as_list=True),
        AkeneoProfile("5.0", "new", products_uuid=False),
        AkeneoProfile(
            "7.0",
            "new",
            products_uuid=True,
            product_uuids=True,
            system_information={"version": "7.0.45", "edition": "EE"},
        ),
        AkeneoProfile(
            "saas",
            "new",
            products_uuid=True,
            products_by_identifier=False,
            product_uuids=True,
            system_information={"version": "v20260301120000", "edition": "Serenity"},
        ),
    )
}
#: The newest profile of each asset system: the default when no version is given.
DEFAULT_VERSION: dict[AssetSystem, str] = {"new": "7.0", "old": "3.2"}


def resolve_profile(version: str | None, asset_system: AssetSystem | None) -> AkeneoProfile:
    """The profile of ``version``, checked against ``asset_system`` when both are given.

    :param version: a key of :data:`PROFILES`; ``None``: the newest of ``asset_system``'s versions.
    :param asset_system: ``new`` or ``old``; ``None``: the version's own (``new`` when neither is given).
    :raises ValueError: an unknown version, or an asset system the version does not have.
    """
    if version is None:
        version = DEFAULT_VERSION.get(asset_system or "new")
        if version is None:
            raise ValueError(f"asset_system must be one of new, old, got {asset_system!r}")
    profile = PROFILES.get(version)
    if profile is None:
        raise ValueError(f"akeneo_version must be one of {', '.join(PROFILES)}, got {version!r}")
    if asset_system is not None and asset_system != profile.asset_system:
        have = "the PAM (asset_system 'old')" if profile.asset_system == "old" else "the Asset Manager"
        raise ValueError(
            f"Akeneo {version} has {have}, not asset_system {asset_system!r} "
            "(the PAM exists up to 3.x, the Asset Manager from 4.0 in the sandbox)"
        )
    return profile
