"""PAM assets (PIM 1.7 to 3.2, pam.md): assets with reference files (one, or one per locale) and variation
files per channel (and locale), and their binaries."""

from __future__ import annotations

from typing import Any, Literal

from pim_sandbox.catalog.assets import (
    _ASSET_IMAGE_WEIGHTS,
    _ASSET_PINNED,
    _GUIDE_STEMS,
    _LIFESTYLE_ASSET_STEMS,
    _PACKSHOT_STEMS,
    AssetHeader,
    Assets,
    _asset_locales,
)
from pim_sandbox.catalog.changes import CatalogChanges
from pim_sandbox.catalog.common import _ECOMMERCE_LOCALES, _PRINT_LOCALES, _Dice
from pim_sandbox.catalog.media import MediaFile, _AssetFile, _extension

#: PAM reference file and variation file routes (pam.md); ``{locale}`` is ``no_locale`` for a non-localizable
#: asset, as the links of pam.md's example show.
PAM_REFERENCE_PATH = "/api/rest/v1/assets/{asset}/reference-files/{locale}"
PAM_VARIATION_PATH = "/api/rest/v1/assets/{asset}/variation-files/{channel}/{locale}"
PAM_NO_LOCALE = "no_locale"

_PAM_VARIATION_SIDES = {"ecommerce": 48, "print": None}  # None: same size, re-encoded
_PAM_END_OF_USE = "2027-06-30T00:00:00+0000"  # pam.md's example writes the offset without a colon

_PAM_DESCRIPTIONS = {
    "packshots": "Packshot of",
    "lifestyle": "Lifestyle picture of",
    "user_guides": "User guide of",
}


class PamAssets(Assets):
    """The assets of a PIM with the PAM."""

    system = "old"
    #: the catalog's changes (its new reference files, :attr:`CatalogChanges.pam_uploads`)
    changes: CatalogChanges | None = None

    def resource(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        """Build a PAM asset as PIM 3.x's API shows it: key names of the Swagger file (see the errata)."""
        references, variations, localizable = self._pam_files(header)
        dice = _Dice(self.seed, "pam-properties", header.group, header.owner, header.role)
        product = self._products.header(header.owner)
        return {
            "code": header.code,
            "categories": [header.group],
            "description": f"{_PAM_DESCRIPTIONS[header.group]} {product.identifier}",
            "localizable": localizable,
            "tags": sorted({header.group, product.family}),
            "end_of_use": _PAM_END_OF_USE if dice.chance(0.1) else None,
            "variation_files": [self._pam_file_entry(header, spec, base_url) for spec in variations],
            "reference_files": [self._pam_file_entry(header, spec, base_url) for spec in references],
        }

    def files(self, header: AssetHeader) -> list[_AssetFile]:
        """Return the specs of the asset's reference files, then its variation files."""
        references, variations, _ = self._pam_files(header)
        return [*references, *variations]

    def file(
        self,
        asset_code: str,
        kind: Literal["reference", "variation"],
        channel: str | None,
        locale: str | None,
    ) -> MediaFile:
        """Return a PAM reference file (``channel`` ``None``) or variation file with its bytes.

        :param locale: the file's locale, ``None`` for a non-localizable asset (``no_locale`` in the routes).
        :raises KeyError: if the asset or the file does not exist.
        """
        references, variations, _ = self._pam_files(self.asset_header(None, asset_code))
        for spec in references if kind == "reference" else variations:
            if spec.locale == locale and spec.channel == (channel if kind == "variation" else None):
                return self._renderer.render_asset_file(spec)
        raise KeyError((asset_code, kind, channel, locale))

    def _pam_file_entry(self, header: AssetHeader, spec: _AssetFile, base_url: str) -> dict[str, Any]:
        locale = spec.locale or PAM_NO_LOCALE
        if spec.channel is None:
            path = PAM_REFERENCE_PATH.format(asset=header.code, locale=locale)
        else:
            path = PAM_VARIATION_PATH.format(asset=header.code, channel=spec.channel, locale=locale)
        entry: dict[str, Any] = {
            "_link": {"download": {"href": f"{base_url}{path}/download"}, "self": {"href": base_url + path}},
            "locale": spec.locale,
        }
        if spec.channel is not None:
            entry["scope"] = spec.channel
        entry["code"] = self._renderer.describe(spec).code
        return entry

    def _pam_files(self, header: AssetHeader) -> tuple[list[_AssetFile], list[_AssetFile], bool]:
        """Return a PAM asset's reference files, variation files and whether it is localizable (pam.md).

        A localizable asset has a reference file per locale (not always every locale); the PIM generates a
        variation file per channel (and locale of the channel) from each image reference file, and none from a
        PDF. A few image variations are missing, as when a generation failed.
        """
        source = self.changes.pam_uploads.get(header.code) if self.changes else None
        if source is not None:
            header = self.asset_header(header.group, source)
        index, role, group = header.owner, header.role, header.group
        sku = self._products.header(index).identifier
        pin = _ASSET_PINNED.get(index)
        full = pin == "full"
        dice = _Dice(self.seed, "pam", group, index, role)
        if group == "packshots":
            localizable, locales = False, [None]
        elif group == "lifestyle":
            localizable = True
            locales = _asset_locales(pin, dice)
        else:
            localizable = full or dice.chance(0.5)
            locales = list(_ECOMMERCE_LOCALES) if localizable else [None]
        references = [self._pam_reference(group, index, role, sku, locale, dice) for locale in locales]
        variations: list[_AssetFile] = []
        for channel, channel_locales in (("ecommerce", _ECOMMERCE_LOCALES), ("print", _PRINT_LOCALES)):
            for reference in references:
                if reference.kind == "PDF" or reference.locale not in (None, *channel_locales):
                    continue
                failed = channel == "print" and (
                    (pin == "outside_link" and role == "front") or (not full and dice.chance(0.1))
                )
                if not failed:
                    stem, extension = reference.original_filename.rsplit(".", 1)
                    variations.append(
                        _AssetFile(
                            group,
                            index,
                            role,
                            "variation",
                            reference.locale,
                            channel,
                            reference.kind,
                            f"{stem}-{channel}.{extension}",
                            reference,
                            _PAM_VARIATION_SIDES[channel],
                        )
                    )
        return references, variations, localizable

    def _pam_reference(
        self, group: str, index: int, role: str, sku: str, locale: str | None, dice: _Dice
    ) -> _AssetFile:
        if group == "user_guides":
            stem = dice.pick(_GUIDE_STEMS).format(sku=sku)
            filename = f"{stem} {locale}.pdf" if locale else f"{stem}.pdf"
            return _AssetFile(group, index, role, "reference", locale, None, "PDF", filename)
        kind = dice.weighted(_ASSET_IMAGE_WEIGHTS)
        if group == "packshots":
            stem = dice.pick(_PACKSHOT_STEMS).format(sku=sku, view=role)
        else:
            stem = _LIFESTYLE_ASSET_STEMS[locale or "en_US"].format(sku=sku, n=1)
        filename = f"{stem}.{_extension(kind, stem, dice)}"
        return _AssetFile(group, index, role, "reference", locale, None, kind, filename)
