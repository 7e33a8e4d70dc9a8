"""Asset Manager assets (PIM 4.0 and later, asset-manager.md): asset families and their attributes, assets
with media file, media link and text values, and the media files' binaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

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
from pim_sandbox.catalog.common import _ECOMMERCE_LOCALES, _NAMES, _Dice, _freeze, _iso, _labels
from pim_sandbox.catalog.media import (
    _CODE_RE,
    MediaFile,
    MediaRenderer,
    _AssetFile,
    _extension,
    sanitize_filename,
)
from pim_sandbox.catalog.products import _OWNER_RE, ProductHeader, Products

#: Download route of an Asset Manager media file (asset-manager.md, "The _links format"); ``{code}`` keeps
#: its slashes.
ASSET_MEDIA_PATH = "/api/rest/v1/asset-media-files/{code}"
#: Prefix of the ``url_large``/``url_thumb`` media link attributes: the CDN that hosts the images.
ASSET_LINK_PREFIX = "https://cdn.example.com/images/assets/"

_LINK_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}
_VIEW_LABELS = {
    "back": {"de_DE": "Rückansicht", "en_US": "back view", "fr_FR": "vue de dos"},
    "front": {"de_DE": "Vorderansicht", "en_US": "front view", "fr_FR": "vue de face"},
    "side": {"de_DE": "Seitenansicht", "en_US": "side view", "fr_FR": "vue de côté"},
}
# Hosts and paths of cdn_images links: under the external image location, or (a few) outside it.
_CDN_INSIDE = "https://cdn.example.com/images/cdn/{sku}-{channel}.{ext}"
_CDN_OTHER_HOST = "https://media.partner-cdn.net/{sku}/{channel}.{ext}"
_CDN_OTHER_PATH = "https://cdn.example.com/static/cdn/{sku}-{channel}.{ext}"
_THUMBNAIL_SIDE = 32  # the packshots family's transformation makes 32 px thumbnails


@dataclass(frozen=True, slots=True)
class _AssetSlot:
    """One Asset Manager value before formatting: text or link data, or the spec of a media file."""

    attribute: str
    locale: str | None
    channel: str | None
    data: str | _AssetFile


class AssetManagerAssets(Assets):
    """The assets of a PIM with the Asset Manager."""

    system = "new"

    def __init__(
        self, seed: int, products: Products, renderer: MediaRenderer, *, many_assets: bool = False
    ) -> None:
        super().__init__(seed, products, renderer, many_assets=many_assets)
        self.families = _freeze(_asset_families())
        self._attributes: Mapping[str, tuple[dict[str, Any], ...]] = MappingProxyType(
            _asset_family_attributes()
        )

    def attributes(self, family: str) -> list[dict[str, Any]]:
        """Return an Asset Manager family's attributes, as ``GET /asset-families/{f}/attributes`` lists them.

        The list is in the family's attribute order (the order they were created in), not paginated: a family
        has at most 100 attributes (asset-manager.md, "Asset attribute").

        :raises KeyError: if the family does not exist (always, for the PAM).
        """
        return [dict(attribute) for attribute in self._attributes[family]]

    def resource(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        """Build the asset as the Asset Manager's connector shows it (asset-manager.md, "Asset")."""
        attributes = {attribute["code"]: attribute for attribute in self._attributes[header.group]}
        slots = self._manager_slots(header)
        values: dict[str, list[dict[str, Any]]] = {}
        for code, attribute in attributes.items():  # values in the family's attribute order
            for slot in slots:
                if slot.attribute == code:
                    values.setdefault(code, []).append(self._manager_value(attribute, slot, header, base_url))
        return {
            "code": header.code,
            "asset_family_code": header.group,
            "values": values,
            "created": _iso(header.created),
            "updated": _iso(header.updated),
        }

    def files(self, header: AssetHeader) -> list[_AssetFile]:
        """Return the specs of the asset's media files, in value order."""
        return [slot.data for slot in self._manager_slots(header) if isinstance(slot.data, _AssetFile)]

    def media(self, code: str) -> MediaFile:
        """Return the Asset Manager media file with this code (``GET /asset-media-files/{code}``).

        Like product media, the file's original name carries the identifier of the product that owns the
        asset, so the file is found from its code alone.

        :raises KeyError: if no asset value points at ``code``.
        """
        match = _CODE_RE.match(code)
        owner = _OWNER_RE.search(match.group(6)) if match else None
        if match is None or owner is None:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self._products.simple_products_count:
            raise KeyError(code)
        for group, roles in self._asset_plan(index).items():
            for role in roles:
                for slot in self._manager_slots(self._asset_header(group, index, role)):
                    spec = slot.data
                    if isinstance(spec, _AssetFile) and sanitize_filename(
                        spec.original_filename
                    ) == match.group(6):
                        media = self._renderer.render_asset_file(spec)
                        if media.code == code:
                            return media
        raise KeyError(code)

    def _manager_value(
        self, attribute: dict[str, Any], slot: _AssetSlot, header: AssetHeader, base_url: str
    ) -> dict[str, Any]:
        """Format one asset value (asset-manager.md, "Focus on the asset values").

        ``channel``, not ``scope``; ``attribute_type`` on every value; media files carry
        ``_links.download`` (their binary route) and ``linked_data`` (file facts), media links
        ``linked_data`` with the full URL, as "The _links format" and "The linked_data format" show.
        """
        value: dict[str, Any] = {"locale": slot.locale, "channel": slot.channel, "data": slot.data}
        kind = attribute["type"]
        if isinstance(slot.data, _AssetFile):
            media = self._renderer.describe(slot.data)
            value["data"] = media.code
            value["attribute_type"] = kind
            value["_links"] = {"download": {"href": base_url + ASSET_MEDIA_PATH.format(code=media.code)}}
            value["linked_data"] = {
                "size": media.size,
                "mime_type": media.mime_type,
                "extension": media.extension,
                "original_filename": media.original_filename,
                # The file was uploaded with the asset: its date, written as the doc's example writes it.
                "updated_at": header.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            return value
        if kind == "media_link":
            prefix, suffix = attribute["prefix"], attribute["suffix"]
            value["linked_data"] = {
                "full_url": f"{prefix or ''}{slot.data}{suffix or ''}",
                "prefix": prefix,
                "suffix": suffix,
            }
        value["attribute_type"] = kind
        return value

    def _manager_slots(self, header: AssetHeader) -> list[_AssetSlot]:
        """Return the values of an Asset Manager asset, unformatted, media files as specs."""
        product = self._products.header(header.owner)
        pin = _ASSET_PINNED.get(header.owner)
        dice = _Dice(self.seed, "asset", header.group, header.owner, header.role)
        builders = {
            "packshots": _packshot_slots,
            "lifestyle": _lifestyle_slots,
            "cdn_images": _cdn_slots,
            "user_guides": _guide_slots,
        }
        slots = builders[header.group](header, product, pin, dice)
        slots.append(_AssetSlot("product_ref", None, None, product.identifier))
        return slots


def _asset_attribute(
    code: str,
    type_: str,
    labels: dict[str, str],
    *,
    per_locale: bool = False,
    per_channel: bool = False,
    required: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Return an asset attribute with the keys of its type, as asset-manager.md's examples show them."""
    resource: dict[str, Any] = {
        "code": code,
        "labels": labels,
        "type": type_,
        "value_per_locale": per_locale,
        "value_per_channel": per_channel,
        "is_required_for_completeness": required,
        "is_read_only": False,
    }
    if type_ == "text":
        resource.update(
            max_characters=255,
            is_textarea=False,
            is_rich_text_editor=None,  # null when is_textarea is false (the doc's text attribute example)
            validation_rule="none",
            validation_regexp=None,
        )
    elif type_ == "media_file":
        resource.update(
            media_type="image", allowed_extensions=["gif", "jpeg", "jpg", "png"], max_file_size="10"
        )
    elif type_ == "media_link":
        resource.update(prefix=ASSET_LINK_PREFIX, suffix=None, media_type="image")
    resource.update(extra)
    return resource


def _asset_family_attributes() -> dict[str, tuple[dict[str, Any], ...]]:
    """Return each asset family's attributes in creation order.

    ``url_large`` and ``url_thumb`` have the same codes in every family that has them, so that one
    link-attribute -> view-type mapping serves all families
    (docs/configuration.md#akeneoimagelinkviewtypesmapping). ``cdn_images`` holds whole URLs
    (``prefix`` null), as a DAM or CDN integration does.
    """

    def picture(**extra: Any) -> dict[str, Any]:
        return _asset_attribute("picture", "media_file", _labels("Picture", "Photo", "Bild"), **extra)

    def url_large(suffix: str | None, **extra: Any) -> dict[str, Any]:
        labels = _labels("Large image URL", "URL grande image", "URL großes Bild")
        return _asset_attribute("url_large", "media_link", labels, suffix=suffix, **extra)

    url_thumb = _asset_attribute(
        "url_thumb",
        "media_link",
        _labels("Thumbnail URL", "URL vignette", "URL Vorschaubild"),
        suffix="?w=200",
    )
    product_ref = _asset_attribute(
        "product_ref", "text", _labels("Product reference", "Référence produit", "Produktreferenz")
    )
    alt_text = _asset_attribute(
        "alt_text", "text", _labels("Alternative text", "Texte alternatif", "Alternativtext"), per_locale=True
    )
    thumbnail = _asset_attribute("thumbnail", "media_file", _labels("Thumbnail", "Vignette", "Vorschaubild"))
    pdf = _asset_attribute(
        "pdf",
        "media_file",
        _labels("PDF", "PDF", "PDF"),
        required=True,
        media_type="pdf",
        allowed_extensions=["pdf"],
        max_file_size="20",
    )
    return {
        "cdn_images": (url_large(None, per_channel=True, required=True, prefix=None), url_thumb, product_ref),
        "lifestyle": (
            picture(per_locale=True, required=True),
            url_large("?w=1200", per_locale=True),
            url_thumb,
            product_ref,
        ),
        "packshots": (picture(required=True), thumbnail, url_large(None), url_thumb, alt_text, product_ref),
        # the link attributes exist here too (unused by the guides): the connector wants the
        # mapping's attributes in every family a collection uses, so a real PIM has them everywhere
        "user_guides": (pdf, url_large(None), url_thumb, product_ref),
    }


def _asset_families() -> list[dict[str, Any]]:
    """Return the Asset Manager families (asset-manager.md, "Asset family"; keys as in the Swagger file).

    ``packshots`` and ``user_guides`` read the product reference out of the main media's file name and link
    their assets with it; ``lifestyle`` and ``cdn_images`` are linked by hand (no naming convention, no rule).
    """

    def family(
        code: str, labels: dict[str, str], main_media: str, *, source: str | None = None, extra: Any = ()
    ) -> dict[str, Any]:
        naming: dict[str, Any] = {}
        rules: list[dict[str, Any]] = []
        if source is not None:
            naming = {
                "source": {"property": source, "channel": None, "locale": None},
                "pattern": "/(?P<product_ref>SKU-\\d+)/",
                "abort_asset_creation_on_error": False,
            }
            rules = [
                {
                    "product_selections": [
                        {
                            "field": "sku",
                            "operator": "=",
                            "value": "{{product_ref}}",
                            "locale": None,
                            "channel": None,
                        }
                    ],
                    "assign_assets_to": [{"mode": "add", "attribute": code, "locale": None, "channel": None}],
                }
            ]
        return {
            "code": code,
            "labels": labels,
            "attribute_as_main_media": main_media,
            "naming_convention": naming,
            "product_link_rules": rules,
            "transformations": list(extra),
        }

    thumbnail = {
        "label": "Thumbnail",
        "filename_suffix": "_thumbnail",
        "source": {"attribute": "picture", "channel": None, "locale": None},
        "target": {"attribute": "thumbnail", "channel": None, "locale": None},
        "operations": [
            {"type": "thumbnail", "parameters": {"width": _THUMBNAIL_SIDE, "height": _THUMBNAIL_SIDE}}
        ],
    }
    return [
        family(
            "packshots",
            _labels("Packshots", "Packshots", "Packshots"),
            "picture",
            source="picture",
            extra=[thumbnail],
        ),
        family("lifestyle", _labels("Lifestyle", "Ambiance", "Lifestyle"), "picture"),
        family("cdn_images", _labels("CDN images", "Images CDN", "CDN-Bilder"), "url_large"),
        family(
            "user_guides",
            _labels("User guides", "Guides d'utilisation", "Bedienungsanleitungen"),
            "pdf",
            source="pdf",
        ),
    ]


def _packshot_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A packshot: a picture (JPEG, some PNG, a few GIF), its generated thumbnail, links to the CDN copy."""
    view, sku, full = header.role, product.identifier, pin == "full"
    kind = dice.weighted(_ASSET_IMAGE_WEIGHTS)
    if pin == "shared" and view in ("front", "back"):
        kind = "PNG" if view == "front" else "GIF"
    stem = dice.pick(_PACKSHOT_STEMS).format(sku=sku, view=view)
    extension = _extension(kind, stem, dice)
    picture = _AssetFile("packshots", header.owner, view, "picture", None, None, kind, f"{stem}.{extension}")
    thumbnail = _AssetFile(
        "packshots",
        header.owner,
        view,
        "thumbnail",
        None,
        None,
        kind,
        f"{stem}_thumbnail.{extension}",
        picture,
        _THUMBNAIL_SIDE,
    )
    link = f"packshots/{sku}-{view}.{_LINK_EXTENSIONS[kind]}"
    slots = [_AssetSlot("picture", None, None, picture), _AssetSlot("thumbnail", None, None, thumbnail)]
    if full or dice.chance(0.9):
        slots.append(_AssetSlot("url_large", None, None, link))
    if full or dice.chance(0.8):
        slots.append(_AssetSlot("url_thumb", None, None, link))
    for locale in _ECOMMERCE_LOCALES:
        if full or dice.chance(0.8):
            text = f"{_NAMES[product.family][locale]}, {_VIEW_LABELS[view][locale]}"
            slots.append(_AssetSlot("alt_text", locale, None, text))
    return slots


def _lifestyle_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A lifestyle asset: a picture per locale (localizable main media) and a large link per locale."""
    sku, n = product.identifier, header.role.rsplit("_", 1)[1]
    pictures: list[_AssetSlot] = []
    links: list[_AssetSlot] = []
    for locale in _asset_locales(pin, dice):
        kind = dice.weighted((("JPEG", 85), ("PNG", 15)))
        stem = _LIFESTYLE_ASSET_STEMS[locale].format(sku=sku, n=n)
        filename = f"{stem}.{_extension(kind, stem, dice)}"
        spec = _AssetFile("lifestyle", header.owner, header.role, "picture", locale, None, kind, filename)
        pictures.append(_AssetSlot("picture", locale, None, spec))
        link = f"lifestyle/{sku}-lifestyle-{n}-{locale}.{_LINK_EXTENSIONS[kind]}"
        links.append(_AssetSlot("url_large", locale, None, link))
    slots = [*pictures, *links]
    if pin == "full" or dice.chance(0.8):
        slots.append(_AssetSlot("url_thumb", None, None, f"lifestyle/{sku}-lifestyle-{n}.jpg"))
    return slots


def _cdn_slots(header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice) -> list[_AssetSlot]:
    """A CDN image: whole URLs per channel (no binary); a few point outside the external image location."""
    sku = product.identifier
    extension = _LINK_EXTENSIONS[dice.weighted(_ASSET_IMAGE_WEIGHTS)]
    outside = pin == "outside_link" or (pin is None and dice.chance(0.12))
    slots = []
    for channel in ("ecommerce", "print"):
        if channel == "print" and pin is None and dice.chance(0.15):
            continue
        template = _CDN_INSIDE
        if outside and channel == "ecommerce":
            template = _CDN_OTHER_HOST
        elif pin == "outside_link":
            template = _CDN_OTHER_PATH
        slots.append(
            _AssetSlot("url_large", None, channel, template.format(sku=sku, channel=channel, ext=extension))
        )
    slots.append(_AssetSlot("url_thumb", None, None, f"cdn/{sku}.{extension}"))
    return slots


def _guide_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A user guide: one small PDF, not an image."""
    stem = dice.pick(_GUIDE_STEMS).format(sku=product.identifier)
    spec = _AssetFile("user_guides", header.owner, header.role, "pdf", None, None, "PDF", f"{stem}.pdf")
    return [_AssetSlot("pdf", None, None, spec)]
