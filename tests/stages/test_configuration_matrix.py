"""Every combination of akeneoImageType x akeneoAssetSystem x akeneoImageImportType (18),
each run through the core stages (``tests/pipeline.py``: Akeneo over HTTP, delivery over
SFTP) against the sandbox of its asset system (the Asset Manager on a 7.0 PIM, the PAM on a 3.2
PIM, which has no ``/products-uuid``), with only the configuration changed. Each must
deliver a schema-valid catalog and metadata XML, a site-import archive holding the binaries
the catalog names, and a spec-conformant BSPK CSV; four representative combinations are also
compared with golden files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import zipfile
from collections.abc import Iterator

import pytest
from lxml import etree
from PIL import Image
from pipeline import run_pipeline

from pim_images.media import MediaCache
from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

NS = {"c": CATALOG_NS}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
PRODUCTS = 24
LOCATION = "https://cdn.example.com/images/"
MAPPING = '{"url_large": ["large"], "url_thumb": ["small", "swatch"]}'
COMBINATIONS = list(
    itertools.product(("images", "assets", "both"), ("new", "old"), ("media_file", "media_link", "both"))
)
GOLDEN = {
    ("images", "new", "media_file"),
    ("assets", "new", "media_file"),
    ("assets", "new", "media_link"),
    ("both", "new", "both"),
}


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sandbox]]:
    with (
        run_sandbox(
            SandboxSettings(
                sftp_root=tmp_path_factory.mktemp("sftp-new"),
                products=PRODUCTS,
                asset_system="new",
                akeneo_version="7.0",
            )
        ) as new,
        run_sandbox(
            SandboxSettings(
                sftp_root=tmp_path_factory.mktemp("sftp-old"),
                products=PRODUCTS,
                asset_system="old",
                akeneo_version="3.2",  # the PAM: products by identifier, no products-uuid
            )
        ) as old,
    ):
        yield {"new": new, "old": old}


@pytest.fixture(scope="module")
def delivered(sandboxes, tmp_path_factory) -> dict[tuple[str, str, str], dict[str, bytes]]:
    """Run the 18 combinations once; each delivers to its own folders. Returns the files
    (``<target>/<name>`` -> bytes)."""
    caches = {system: MediaCache(tmp_path_factory.mktemp(f"media-{system}")) for system in sandboxes}
    results = {}
    for combination in COMBINATIONS:
        image_type, system, import_type = combination
        name = "-".join(combination)
        conf = {
            "akeneoImageType": image_type,
            "akeneoAssetSystem": system,
            "akeneoImageImportType": import_type,
            "akeneoImageLinkViewTypesMapping": MAPPING,
            "sfccRemoteDir": f"/{name}/sfcc",
            "bspkRemoteDir": f"/{name}/bspk",
        }
        run = run_pipeline(sandboxes[system], conf, tmp_path_factory.mktemp(name), cache=caches[system])
        results[combination] = {
            f"{target}/{file}": data for target, files in run.files.items() for file, data in files.items()
        }
    return results


def _parts(files: dict[str, bytes]) -> tuple[bytes, bytes, bytes, dict[str, bytes]]:
    """(catalog XML, metadata XML, CSV, archive entries) of one delivery."""
    (xml,) = [v for k, v in files.items() if k.startswith("sfcc/catalog_") and k.endswith(".xml")]
    (csv_bytes,) = [v for k, v in files.items() if k.startswith("bspk/PRODUCT-IMAGES_V2_")]
    (archive,) = [v for k, v in files.items() if k.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    (metadata,) = [v for k, v in entries.items() if k.endswith("/meta/system-objecttype-extensions.xml")]
    return xml, metadata, csv_bytes, entries


@pytest.mark.parametrize("combination", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_combination_delivers_valid_files(
    combination, delivered, sandboxes, validate_catalog, validate_metadata, golden
) -> None:
    image_type, system, import_type = combination
    xml, metadata, csv_bytes, entries = _parts(delivered[combination])
    catalog = validate_catalog(xml)
    definitions = validate_metadata(metadata)
    links_as_images = image_type != "images" and system == "new" and import_type == "media_link"

    # header: one location, the external one whenever assets are read as media_link (as the connector)
    location = catalog.xpath("c:header/c:image-settings/*[1]", namespaces=NS)[0]
    external = image_type != "images" and import_type == "media_link"
    assert location.tag == f"{{{CATALOG_NS}}}{'external-location' if external else 'internal-location'}"
    declared = set(catalog.xpath("//c:view-types/c:view-type/text()", namespaces=NS))
    used = set(catalog.xpath("//c:image-group/@view-type", namespaces=NS))
    assert used and used <= declared

    # every binary the catalog names is in the archive; links are not
    # (and the non-image files, PDFs, custom attributes name)
    static = {k.split("/static/default/", 1)[1] for k in entries if "/static/default/" in k}
    paths = set(catalog.xpath("//c:image/@path", namespaces=NS))
    files = {
        t.removesuffix("?$staticlink$")
        for t in catalog.xpath("//c:custom-attribute/text()", namespaces=NS)
        if t.endswith("?$staticlink$")
    }
    assert files == {p for p in static if p.startswith("files/")}
    assert all(p.endswith(".pdf") for p in files)
    if links_as_images:
        assert static - files <= paths and paths - static, "links must be images, relative to the location"
    else:
        assert paths == static - files

    # custom attributes: asset codes per collection; per asset (Asset Manager), the attributes of
    # link assets in 'both' and of non-image assets (the user guides' PDFs) in every import type
    ids = set(catalog.xpath("//c:custom-attribute/@attribute-id", namespaces=NS))
    defined = set(
        definitions.xpath("//m:attribute-definition/@attribute-id", namespaces={"m": definitions.nsmap[None]})
    )
    assert ids == defined
    if image_type == "images":
        assert ids == set()
    else:
        assert "akeneo_packshots" in ids
        assert any(re.fullmatch(r"akeneo_sku\d+Cdn_urlLarge", i) for i in ids) == (
            system == "new" and import_type == "both"
        )
        assert any(re.fullmatch(r"akeneo_sku\d+UserGuide_pdf", i) for i in ids) == (system == "new")
        assert not any(i.startswith("akeneo_packshots_") for i in ids)

    # BSPK: header, positions 1..n per product, rows of a product together, JPG/PNG only
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"), newline="")))
    assert rows[0] == ["product_ref", "skus", "image_url", "position"]
    seen: list[str] = []
    for ref, group in itertools.groupby(rows[1:], key=lambda r: r[0]):
        assert ref not in seen, f"rows of {ref} are split"
        seen.append(ref)
        group = list(group)
        assert [int(r[3]) for r in group] == list(range(1, len(group) + 1))
        for row in group:
            assert row[2].startswith(LOCATION)
            assert row[2].lower().split("?")[0].endswith((".jpg", ".jpeg", ".png"))
    assert seen, "some product should have images"

    if combination in GOLDEN:
        case = "matrix_" + "_".join(combination)
        golden(case, "catalog.xml", xml)
        golden(case, "system-objecttype-extensions.xml", metadata)
        golden(case, "product-images.csv", csv_bytes)


def test_collection_order_is_kept_in_groups_attributes_and_csv(delivered, sandboxes) -> None:
    """Product 7's packshots collection is side, front, back (not alphabetical): the image
    group, the custom attribute and the BSPK positions follow it."""
    catalog = sandboxes["new"].catalog
    product = catalog.product(7)
    sku = product["values"]["sku"][0]["data"]
    codes = catalog.product_asset_codes(7)["packshots"]
    assert codes != sorted(codes)
    paths = []
    for code in codes:
        data = catalog.asset("packshots", code)["values"]["picture"][0]["data"]
        content = catalog.asset_media(data).content
        sha = hashlib.sha256(content).hexdigest()
        paths.append(f"images/{sha[:2]}/{sha}.{EXTENSIONS[Image.open(io.BytesIO(content)).format]}")
    xml, _, csv_bytes, _ = _parts(delivered[("assets", "new", "media_file")])
    root = etree.fromstring(xml)
    product_xml = root.xpath(f"c:product[@product-id='{sku}']", namespaces=NS)[0]
    large = product_xml.xpath("c:images/c:image-group[@view-type='large']/c:image/@path", namespaces=NS)
    assert large[: len(paths)] == paths
    attribute = product_xml.xpath(
        "c:custom-attributes/c:custom-attribute[@attribute-id='akeneo_packshots']/c:value/text()",
        namespaces=NS,
    )
    assert attribute == codes
    rows = [r for r in csv.reader(io.StringIO(csv_bytes.decode("utf-8"), newline="")) if r[0] == sku]
    assert [r[2] for r in rows[: len(paths)]] == [LOCATION + p for p in paths]


def test_image_attributes_ignore_the_asset_settings(delivered) -> None:
    """With akeneoImageType 'images', the asset system and import type change nothing."""
    outputs = {c: _parts(delivered[c])[0::2] for c in COMBINATIONS if c[0] == "images" and c[1] == "new"}
    assert len(set(outputs.values())) == 1


def test_connector_mappings_give_renditions_and_texts(
    sandboxes, tmp_path_factory, validate_catalog, validate_metadata
) -> None:
    """akeneoImageFileViewTypesMapping and akeneoImageMetadataMapping in the connector's form,
    against the sandbox's packshots (picture, its thumbnail, a localizable alt_text)."""
    conf = {
        "akeneoImageType": "assets",
        "akeneoImageImportType": "media_file",
        "akeneoLocales": ["en_US", "fr_FR"],
        "akeneoImageFileViewTypesMapping": '{"matching": {"large": "picture", "small": "thumbnail"}}',
        "akeneoImageMetadataMapping": '{"matching": {"alt": "alt_text", "title": "alt_text"}}',
        "sfccRemoteDir": "/mappings/sfcc",
        "bspkRemoteDir": "/mappings/bspk",
    }
    run = run_pipeline(sandboxes["new"], conf, tmp_path_factory.mktemp("mappings"))
    files = {f"{t}/{n}": d for t, fs in run.files.items() for n, d in fs.items()}
    xml, metadata, _, _ = _parts(files)
    catalog = validate_catalog(xml)
    validate_metadata(metadata)
    large = set(
        catalog.xpath("//c:image-group[starts-with(@view-type, 'large')]/c:image/@path", namespaces=NS)
    )
    small = set(
        catalog.xpath("//c:image-group[starts-with(@view-type, 'small')]/c:image/@path", namespaces=NS)
    )
    assert large and small and not large & small, "each view type gets its own rendition"
    assert not catalog.xpath("//c:image-group[starts-with(@view-type, 'medium')]", namespaces=NS)
    # packshots all have their thumbnail; lifestyle has no such attribute: named once, for the family
    missing = [w for w in run.warnings["transform"] if "akeneoImageFileViewTypesMapping" in w]
    assert len(missing) == 1
    assert "asset family 'lifestyle' has no media file attribute 'thumbnail'" in missing[0]
    assert [w for w in run.warnings["render_sfcc"] if "akeneoImageFileViewTypesMapping" in w] == [
        "view type 'medium' of akeneoImageViewTypes is in no akeneoImageFileViewTypesMapping entry: as in "
        "the connector, Asset Manager assets give it no image (image attributes still do); map it to the "
        "asset families' main media attribute to give it the main media"
    ]
    alts = catalog.xpath("//c:image/c:alt", namespaces=NS)
    assert {a.get("{http://www.w3.org/XML/1998/namespace}lang") for a in alts} == {"en-US", "fr-FR"}
    assert all(a.text for a in alts)
    assert len(catalog.xpath("//c:image/c:title", namespaces=NS)) == len(alts)
