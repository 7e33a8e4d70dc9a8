"""A master's sub-model or variant that owns asset collections gets its own product in the SFCC
catalog, with those custom attributes and no images element (docs/transform.md#custom-attribute-ids):
its images stay with the master's variation groups."""

from __future__ import annotations

from pathlib import Path

from pim_images import records
from pim_images.config import load_config
from pim_images.media import MediaCache
from pim_images.records import CollectionValue, Image, MemberCollections, ProductImages
from pim_images.targets.sfcc.render import CATALOG_NS, render_sfcc

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"
NS = {"c": CATALOG_NS}
LINK = Image(
    attribute="packshots", locale=None, format="JPEG", path="p1.jpg", kind="link", url="https://cdn/p1.jpg"
)


def test_a_member_product_carries_its_collections_and_leaves_images_alone(
    tmp_path: Path, validate_catalog, validate_metadata
) -> None:
    run_dir = tmp_path / "run"
    master = ProductImages(
        "MASTER",
        [LINK],
        [CollectionValue("packshots", ["p1"])],
        members=[
            MemberCollections("V-1", [CollectionValue("variant_assets", ["v1", "v2"])]),
            MemberCollections("V-2", [CollectionValue("variant_assets", [])]),
        ],
    )
    records.IMAGES.write(run_dir, [master])
    result = render_sfcc(load_config(CONFIG), run_dir, MediaCache(tmp_path / "cache"), "20260101T000000Z")
    assert result.member_products == 2
    catalog = validate_catalog((run_dir / "sfcc" / result.files[1]).read_bytes())
    values = {
        product.get("product-id"): {
            a.get("attribute-id"): a.xpath("c:value/text()", namespaces=NS)
            for a in product.xpath("c:custom-attributes/c:custom-attribute", namespaces=NS)
        }
        for product in catalog.xpath("c:product", namespaces=NS)
    }
    assert values == {
        "MASTER": {"akeneo_packshots": ["p1"]},
        "V-1": {"akeneo_variantAssets": ["v1", "v2"]},
        "V-2": {"akeneo_variantAssets": []},
    }
    assert catalog.xpath("c:product[@product-id='V-1']/c:images", namespaces=NS) == []
    assert len(catalog.xpath("c:product[@product-id='MASTER']/c:images", namespaces=NS)) == 1
    metadata = validate_metadata((run_dir / "sfcc" / "system-objecttype-extensions.xml").read_bytes())
    defined = metadata.xpath("//m:attribute-definition/@attribute-id", namespaces={"m": metadata.nsmap[None]})
    assert set(defined) == {"akeneo_packshots", "akeneo_variantAssets"}
