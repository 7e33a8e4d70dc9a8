"""Text a real PIM can hold that files cannot carry: control characters, non-characters, line
breaks, bidi overrides, padding and over-long values, served where a real Akeneo lets them in.

Which field can carry what (and why), so that the sandbox never serves what no Akeneo can:

==============================  =========================================================================
field                           what Akeneo accepts
==============================  =========================================================================
product identifier              free text as far as the Swagger file says (no pattern, only "Product
                                identifier, i.e. the value of the only pim_catalog_identifier
                                attribute"); the length and uniqueness limits and whether a PIM's own
                                validation refuses line breaks or separators were NOT checked against
                                Akeneo's validation rules (to do): the sandbox may serve an identifier
                                some versions would refuse, never one a PIM cannot store (a lone
                                surrogate: MySQL's utf8mb4 refuses it).
asset text attribute values     free text (Asset Manager ``text`` attributes, e.g. ``alt_text``: a
(``alt_text``, per locale)      textarea may hold line breaks; asset-manager.md, "Text attribute").
media link values               free text: the link's data, appended to the attribute's ``prefix``
(``url_large``)                 (asset-manager.md, "Media link attribute"); nothing checks it is a URL.
product model codes             not served yet (their rules not checked either; the sandbox's routes
                                parse its model codes back); a variant's
                                identifier (above) stands for a master's member id meanwhile.
attribute, option, family,      never served: Akeneo validates these codes to ``[a-zA-Z0-9_]`` (and
asset family and asset codes    length), so they cannot carry any of this; variation axis values are
                                option, reference-data or record codes, metric amounts and booleans.
==============================  =========================================================================

Two defects (:data:`~pim_sandbox.catalog.structure.DEFECTS`) apply them as saves a user made
after generation (:mod:`~pim_sandbox.catalog.changes`), so every list and every route agrees:

- ``hostile_identifiers``: the first enabled simple products (one offender each, :data:`IDENTIFIERS`),
  and the first variant product when the catalog has product models;
- ``hostile_asset_texts`` (Asset Manager): packshots of the products after those (from the 14th
  on) get an alt text or a large link holding one offender each (:data:`ASSET_TEXTS`, :data:`LINKS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pim_sandbox.catalog import SandboxCatalog

#: Offenders in product identifiers, by kind, in the order the first simple products get them;
#: ``{sku}`` is the generated identifier. The last two are carried by XML and CSV alike (a
#: bidi override is a character like any other to both); DEL and C1 controls by XML only; 130
#: characters by a CSV cell (255) but not by an SFCC product id (100).
IDENTIFIERS: tuple[tuple[str, str], ...] = (
    ("C0 control U+0001", "{sku}\x01"),
    ("vertical tab U+000B", "{sku}\x0b1"),
    ("NUL (\\u0000 in JSON)", "{sku}\x00"),
    ("non-character U+FFFE", "{sku}\ufffe"),
    ("CR LF", "{sku}\r\nB"),
    ("DEL and C1 control U+0085", "{sku}\x7f\x85"),
    ("padding", " {sku} "),
    ("spaces only", "   "),
    ("over-long (130 characters)", "{sku}-" + "x" * 120),
    ("bidi override U+202E (carried)", "\u202e{sku}"),
    ("non-ASCII (carried)", "{sku}-grün"),
)
#: The first variant's identifier (with product models): a C0 control in a master's member.
VARIANT_IDENTIFIER = "{sku}\x02"
#: Offenders in the en_US alt text of packshots of the products after those (one each).
ASSET_TEXTS: tuple[str, ...] = ("Front\x01view", "Front view\ufffe", "Front\x00", "Line\r\nbreak")
#: Offenders in the large link of the next packshots that have one (one each).
#: ``{stem}`` and ``{ext}`` are the generated link's.
LINKS: tuple[str, ...] = ("{stem}\x0b.{ext}", "{stem}\r\n.{ext}", "{stem}\u202e.{ext}", " {stem} .{ext}")


def apply(catalog: SandboxCatalog, defects: frozenset[str]) -> None:
    """Record the saves :data:`~pim_sandbox.catalog.structure.DEFECTS` asks for on ``catalog``."""
    if "hostile_identifiers" in defects:
        _identifiers(catalog)
    if "hostile_asset_texts" in defects and catalog.asset_system == "new":
        _asset_texts(catalog)


def _sku(value: str) -> list[dict[str, Any]]:
    return [{"locale": None, "scope": None, "data": value}]


def _identifiers(catalog: SandboxCatalog) -> None:
    enabled = (h for h in catalog.iter_headers() if h.enabled and h.index < catalog.simple_products_count)
    for (_, template), header in zip(IDENTIFIERS, enabled, strict=False):
        text = template.format(sku=header.identifier)
        catalog.changes.change_product(header.index, header.updated, values={"sku": _sku(text)})
    if catalog.variants_count:
        index = catalog.simple_products_count
        header = catalog.header(index)
        text = VARIANT_IDENTIFIER.format(sku=header.identifier)
        catalog.changes.change_product(index, header.updated, values={"sku": _sku(text)})


def _asset_texts(catalog: SandboxCatalog) -> None:
    texts = iter(ASSET_TEXTS)
    links = iter(LINKS)
    text, link = next(texts), next(links)
    # after the products whose identifiers hostile_identifiers breaks, so both show together
    for product in range(len(IDENTIFIERS) + 2, catalog.simple_products_count):
        for code in catalog.product_asset_codes(product).get("packshots", []):
            values = catalog.asset("packshots", code)["values"]
            updated = catalog.asset_header("packshots", code).updated
            if text is not None and any(v["locale"] == "en_US" for v in values.get("alt_text", ())):
                alt = [{**v, "data": text} if v["locale"] == "en_US" else v for v in values["alt_text"]]
                catalog.changes.change_asset("packshots", code, updated, {"alt_text": alt})
                text = next(texts, None)
            elif link is not None and values.get("url_large"):
                catalog.changes.change_asset(
                    "packshots", code, updated, {"url_large": [_link(values["url_large"][0], link)]}
                )
                link = next(links, None)
        if text is None and link is None:
            return


def _link(value: dict[str, Any], template: str) -> dict[str, Any]:
    """``value`` (a media link) with its data broken as ``template`` says, its full URL too."""
    stem, _, ext = value["data"].rpartition(".")
    data = template.format(stem=stem, ext=ext)
    linked = value.get("linked_data")
    if linked:
        full = (linked.get("prefix") or "") + data + (linked.get("suffix") or "")
        return {**value, "data": data, "linked_data": {**linked, "full_url": full}}
    return {**value, "data": data}
