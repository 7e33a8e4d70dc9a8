"""A full import through the core stages (``tests/pipeline.py``) against the sandbox Akeneo
and SFTP: the assertions read what landed on the SFTP server and compare it, row by row and
element by element, with what the sandbox catalog holds. The expected lists are computed here
from the catalog in plain loops, not with the pipeline's code. What only the DAG shows (file
names with the run's stamp, the run report, retries) is in ``tests/dags/test_import_dag.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pipeline import Delivered, run_pipeline

from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

PRODUCTS = 60
NS = {"c": CATALOG_NS}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("sftp")
    with run_sandbox(SandboxSettings(sftp_root=root, products=PRODUCTS, seed=7)) as running:
        yield running


def expected_images(
    sandbox: Sandbox, scope: str, locales: list[str]
) -> dict[str, list[tuple[str | None, str, str]]]:
    """identifier -> [(locale, format, path)] of every enabled product, in the order of
    docs/transform.md#ordering."""
    catalog = sandbox.catalog
    image_attributes = sorted(
        (a for a in catalog.attributes.values() if a["type"] == "pim_catalog_image"),
        key=lambda a: (a["sort_order"], a["code"]),
    )
    result = {}
    for product in catalog.iter_products():
        if not product["enabled"]:
            continue
        sku = product["values"]["sku"][0]["data"]
        images = []
        for attribute in image_attributes:
            values = [
                v
                for v in product["values"].get(attribute["code"], [])
                if v["scope"] in (None, scope) and v["locale"] in (None, *locales)
            ]
            values.sort(key=lambda v: -1 if v["locale"] is None else locales.index(v["locale"]))
            for value in values:
                content = catalog.media(value["data"]).content
                try:
                    with Image.open(io.BytesIO(content)) as image:
                        fmt = image.format
                except OSError:
                    continue
                sha = hashlib.sha256(content).hexdigest()
                images.append((value["locale"], fmt, f"images/{sha[:2]}/{sha}.{EXTENSIONS[fmt]}"))
        result[sku] = images
    return result


@pytest.fixture(scope="module")
def full(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    return run_pipeline(sandbox, {}, tmp_path_factory.mktemp("run"))


def test_full_import_delivers_sfcc_and_bspk_files(
    sandbox: Sandbox, full: Delivered, validate_catalog
) -> None:
    expected = expected_images(sandbox, "ecommerce", ["en_US", "fr_FR"])
    assert any(expected.values()), "the sandbox catalog should give images"
    # the sandbox has TIFF and BMP media: skipped for both targets, each named in a warning
    assert any("is not taken by BSPK (JPG and PNG only); skipped" in w for w in full.warnings["render_bspk"])
    assert any("is not an image file SFCC shows; skipped" in w for w in full.warnings["render_sfcc"])

    # BSPK: every enabled product with a JPG/PNG, its distinct images in order, positions 1..n
    (csv_bytes,) = full.files["bspk"].values()
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"), newline="")))
    assert rows[0] == ["product_ref", "skus", "image_url", "position"]
    expected_rows = []
    for sku, images in expected.items():
        paths = list(dict.fromkeys(p for _, fmt, p in images if fmt in ("JPEG", "PNG")))
        expected_rows += [
            [sku, "", "https://cdn.example.com/images/" + p, str(i)] for i, p in enumerate(paths, 1)
        ]
    assert rows[1:] == expected_rows

    # SFCC: the archive holds the same catalog XML as the plain file, and the binaries it names
    (xml_name,) = [n for n in full.files["sfcc"] if n.endswith(".xml")]
    (archive_name,) = [n.removesuffix(".zip") for n in full.files["sfcc"] if n.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(full.files["sfcc"][f"{archive_name}.zip"])) as archive:
        xml = archive.read(f"{archive_name}/catalogs/pim-images-catalog/catalog.xml")
        static = {
            n.split("/static/default/", 1)[1]: archive.read(n)
            for n in archive.namelist()
            if "/static/default/" in n
        }
    assert xml == full.files["sfcc"][xml_name]
    root = validate_catalog(xml)
    products = root.xpath("c:product", namespaces=NS)
    assert [p.get("product-id") for p in products] == list(expected)
    for product in products:
        images = expected[product.get("product-id")]
        groups = product.xpath("c:images/c:image-group", namespaces=NS)
        want = []
        for view_type in ("large", "medium", "small"):
            for locale in (None, "en_US", "fr_FR"):
                paths = list(
                    dict.fromkeys(
                        p for loc, fmt, p in images if loc == locale and fmt in ("JPEG", "PNG", "GIF", "WEBP")
                    )
                )
                if paths:
                    want.append((view_type + (f"_{locale.replace('_', '-')}" if locale else ""), paths))
        got = [(g.get("view-type"), g.xpath("c:image/@path", namespaces=NS)) for g in groups]
        assert got == want, product.get("product-id")
    for path in root.xpath("//c:image/@path", namespaces=NS):
        assert hashlib.sha256(static[path]).hexdigest() == path.rsplit("/", 1)[1].split(".")[0]


def test_configuration_is_changed_per_run(sandbox: Sandbox, tmp_path: Path) -> None:
    conf = {
        "targets": ["bspk"],
        "akeneoLocales": ["de_DE"],
        "akeneoImageAttributes": ["back_image", "main_image"],
    }
    run = run_pipeline(sandbox, conf, tmp_path, stamp="20260401T000000Z")
    assert list(run.files) == ["bspk"] and "render_sfcc" not in run.summaries
    (csv_bytes,) = run.files["bspk"].values()
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8"), newline="")))
    first_url = {}
    for product in sandbox.catalog.iter_products():
        values = product["values"]
        if not product["enabled"]:
            continue
        for attribute in ("back_image", "main_image"):  # the configured order, not the sort order
            for value in values.get(attribute, []):
                content = sandbox.catalog.media(value["data"]).content
                fmt = Image.open(io.BytesIO(content)).format
                if fmt in ("JPEG", "PNG"):
                    sha = hashlib.sha256(content).hexdigest()
                    url = f"https://cdn.example.com/images/images/{sha[:2]}/{sha}.{EXTENSIONS[fmt]}"
                    first_url.setdefault(values["sku"][0]["data"], url)
    assert first_url
    assert {r["product_ref"]: r["image_url"] for r in rows if r["position"] == "1"} == first_url
