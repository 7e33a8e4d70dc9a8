"""End to end: ``airflow dags test pim_images_import`` against the sandbox Akeneo and SFTP.

Airflow runs as a user runs it (the CLI, a fresh ``AIRFLOW_HOME`` with SQLite metadata, the
connections as ``AIRFLOW_CONN_*``); the assertions read what landed on the SFTP server and
compare it, row by row and element by element, with what the sandbox catalog holds. The
expected lists are computed here from the catalog in plain loops, not with the pipeline's code.
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

from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.e2e

PRODUCTS = 60
NS = {"c": CATALOG_NS}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("sftp")
    with run_sandbox(SandboxSettings(sftp_root=root, products=PRODUCTS, seed=7)) as running:
        yield running


@pytest.fixture(scope="module")
def env(sandbox: Sandbox, dag_env) -> dict[str, str]:
    return dag_env(sandbox)


def expected_images(
    sandbox: Sandbox, scope: str, locales: list[str]
) -> dict[str, list[tuple[str | None, str, str]]]:
    """identifier -> [(locale, format, path)] of every enabled product, in spec §3 order."""
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


def delivered(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder.lstrip("/")).glob("*"))


def test_full_import_delivers_sfcc_and_bspk_files(
    sandbox: Sandbox, env: dict[str, str], run_dag, validate_catalog
) -> None:
    result = run_dag(env, "2026-03-01", {})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    expected = expected_images(sandbox, "ecommerce", ["en_US", "fr_FR"])
    assert any(expected.values()), "the sandbox catalog should give images"
    # the sandbox has TIFF and BMP media: skipped for both targets, and said so in the task log
    assert "is not taken by BSPK (JPG and PNG only); skipped" in result.stdout
    assert "is not an image file SFCC shows; skipped" in result.stdout

    # BSPK: every enabled product with a JPG/PNG, its distinct images in order, positions 1..n
    (csv_file,) = delivered(sandbox.sftp_root, "/bspk/incoming")
    assert csv_file.name == "PRODUCT-IMAGES_V2_20260301T000000Z.csv"
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["product_ref", "skus", "image_url", "position"]
    expected_rows = []
    for sku, images in expected.items():
        paths = list(dict.fromkeys(p for _, fmt, p in images if fmt in ("JPEG", "PNG")))
        expected_rows += [
            [sku, "", "https://cdn.example.com/images/" + p, str(i)] for i, p in enumerate(paths, 1)
        ]
    assert rows[1:] == expected_rows

    # SFCC: archive and plain XML, no temporary file left behind
    names = sorted(p.name for p in delivered(sandbox.sftp_root, "/sfcc/catalog"))
    archive_name = "pim-images_pim-images-catalog_20260301T000000Z"
    assert names == ["catalog_pim-images-catalog_20260301T000000Z.xml", f"{archive_name}.zip"]
    with zipfile.ZipFile(sandbox.sftp_root / "sfcc" / "catalog" / f"{archive_name}.zip") as archive:
        xml = archive.read(f"{archive_name}/catalogs/pim-images-catalog/catalog.xml")
        static = {
            n.split("/static/default/", 1)[1]: archive.read(n)
            for n in archive.namelist()
            if "/static/default/" in n
        }
    assert xml == (sandbox.sftp_root / "sfcc" / "catalog" / names[0]).read_bytes()
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


def test_configuration_is_changed_per_run(sandbox: Sandbox, env: dict[str, str], run_dag) -> None:
    conf = {
        "targets": ["bspk"],
        "akeneoLocales": ["de_DE"],
        "akeneoImageAttributes": ["back_image", "main_image"],
    }
    result = run_dag(env, "2026-04-01", conf)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert not (
        sandbox.sftp_root / "sfcc" / "catalog" / "catalog_pim-images-catalog_20260401T000000Z.xml"
    ).exists()
    csv_file = sandbox.sftp_root / "bspk" / "incoming" / "PRODUCT-IMAGES_V2_20260401T000000Z.csv"
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8"), newline="")))
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


def test_bad_configuration_fails_before_anything_is_delivered(
    sandbox: Sandbox, env: dict[str, str], run_dag
) -> None:
    before = sorted(p.relative_to(sandbox.sftp_root) for p in sandbox.sftp_root.rglob("*"))
    result = run_dag(env, "2026-05-01", {"akeneoImageViewTypes": '{"view-types": ["large",]}'})
    output = result.stdout + result.stderr
    assert "akeneoImageViewTypes: not valid JSON at line 1 column" in output
    assert "validate_config" in output
    after = sorted(p.relative_to(sandbox.sftp_root) for p in sandbox.sftp_root.rglob("*"))
    assert after == before


def test_a_catalog_rule_broken_stops_the_run_before_any_download(
    sandbox: Sandbox, env: dict[str, str], run_dag
) -> None:
    before = sorted(p.relative_to(sandbox.sftp_root) for p in sandbox.sftp_root.rglob("*"))
    result = run_dag(env, "2026-06-01", {"akeneoLocales": ["en_US", "xx_XX"]})
    output = result.stdout + result.stderr
    assert "akeneoLocales: locale 'xx_XX' is not an enabled locale of Akeneo" in output
    assert "[DAG TEST] starting task_id=validate " in output
    for task in ("extract", "download_media", "render_sfcc", "render_bspk", "deliver_sfcc", "deliver_bspk"):
        assert f"[DAG TEST] starting task_id={task} " not in output, f"{task} ran"
    after = sorted(p.relative_to(sandbox.sftp_root) for p in sandbox.sftp_root.rglob("*"))
    assert after == before


def test_a_changed_configuration_makes_the_next_differential_run_full(
    sandbox: Sandbox, env: dict[str, str], run_dag
) -> None:
    first = run_dag(env, "2026-07-01", {})
    assert first.returncode == 0, first.stdout[-3000:]
    second = run_dag(env, "2026-07-02", {"importMode": "differential", "akeneoLocales": ["de_DE"]})
    assert second.returncode == 0, second.stdout[-3000:]
    assert "image-related configuration changed since the last successful run" in second.stdout
    assert "differential import made full: the image-related configuration changed" in second.stdout
    third = run_dag(env, "2026-07-03", {"importMode": "differential", "akeneoLocales": ["de_DE"]})
    assert third.returncode == 0, third.stdout[-3000:]
    assert "differential import made full" not in third.stdout  # same configuration: differential again
