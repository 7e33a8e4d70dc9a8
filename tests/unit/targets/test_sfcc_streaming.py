"""The SFCC renderer's streaming writers give the bytes of their whole-in-memory counterparts:
the archive is the bytes zipfile writes, the metadata file lxml's pretty-printed tree, and a product's
values read back as written (docs/architecture.md#streaming-and-memory)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from pim_images import records, report
from pim_images.config import load_config
from pim_images.errors import OutputError
from pim_images.media import MediaCache
from pim_images.records import CollectionValue, Image, ImageText, MediaRecord, ProductImages
from pim_images.targets.sfcc import archive as zip_writer
from pim_images.targets.sfcc import render, rules, schema
from pim_images.targets.sfcc.render import CATALOG_NS, METADATA_FILE, Definition, Group, Product
from pim_images.targets.sfcc.rules import CustomAttribute

NAME = "pim-images_cat_20260301T000000Z"
CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"


def _reference_archive(members: list[tuple[str, bytes, int]]) -> bytes:
    """The archive as ``zipfile.writestr`` writes it, every member whole in memory (at the
    renderer's deflate level)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=render.DEFLATE_LEVEL)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk", [1 << 20, 7])  # 7 bytes: every member copied in chunks
@pytest.mark.parametrize("limits", ["zip", "zip64", "count"])
# known: each binary's size and CRC-32 come with it (the media record's), else read from the
# blob (a record of an older release); a known one over 64 bytes is copied by the kernel when
# the archive is a file; "wrong": the sizes given are not the blobs' (read from the blob then)
@pytest.mark.parametrize("known", ["yes", "no", "wrong"])
@pytest.mark.parametrize("to_file", [False, True])
def test_the_streamed_archive_is_the_bytes_zipfile_writes_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, limits: str, known: str, to_file: bool
) -> None:
    monkeypatch.setattr(render, "_CHUNK", chunk)
    monkeypatch.setattr(render, "_WHOLE", chunk)
    monkeypatch.setattr(render, "_COPIED", 64)
    monkeypatch.setattr(zip_writer, "BATCH", 64)  # small members batched, larger ones not
    # zipfile's limits and the writer's lowered alike: ZIP64 headers, extra fields (sizes,
    # offsets) and end records, which 2 GiB or 65,535 members would otherwise take
    if limits == "zip64":
        for module in (zipfile, zip_writer):
            monkeypatch.setattr(module, "ZIP64_LIMIT", 120)
    if limits != "zip":
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)
        monkeypatch.setattr(zip_writer, "COUNT_LIMIT", 3)
    cache = MediaCache(tmp_path / "cache")
    blobs = [cache.store(f"k{i}", bytes(range(i, i + 40)) * (i + 1)) for i in range(3)]
    assert all(b.crc32 is not None for b in blobs)

    def facts(b: MediaRecord) -> tuple[int | None, int | None]:
        return {"yes": (b.size, b.crc32), "no": (None, None), "wrong": (b.size - 1, b.crc32)}[known]

    binaries = sorted(
        [(f"images/{b.sha256[:2]}/{b.sha256}.jpg", b.sha256, *facts(b)) for b in blobs[:2]]
        + [(f"files/{blobs[2].sha256[:2]}/grün {blobs[2].sha256}.pdf", blobs[2].sha256, *facts(blobs[2]))]
    )
    catalog, metadata = tmp_path / "catalog.xml", tmp_path / METADATA_FILE
    catalog.write_bytes(b"<catalog>" + b"<product/>" * 500 + b"</catalog>")
    metadata.write_bytes(b"<metadata/>")
    copied: list[str] = []
    add_copied = zip_writer.ZipWriter.add_copied

    def counted(self: zip_writer.ZipWriter, name: str, *args: int) -> None:
        copied.append(name)
        add_copied(self, name, *args)

    monkeypatch.setattr(zip_writer.ZipWriter, "add_copied", counted)
    if to_file:
        with (tmp_path / "out.zip").open("w+b") as f:
            render.write_site_archive(f, NAME, "cat", catalog, metadata, iter(binaries), cache)
        out = io.BytesIO((tmp_path / "out.zip").read_bytes())
    else:
        out = io.BytesIO()
        render.write_site_archive(out, NAME, "cat", catalog, metadata, iter(binaries), cache)

    contents = {b.sha256: cache.blob(b.sha256).read_bytes() for b in blobs}
    expected = _reference_archive(
        [
            (f"{NAME}/meta/{METADATA_FILE}", metadata.read_bytes(), zipfile.ZIP_DEFLATED),
            (f"{NAME}/catalogs/cat/catalog.xml", catalog.read_bytes(), zipfile.ZIP_DEFLATED),
            *(
                (f"{NAME}/catalogs/cat/static/default/{p}", contents[s], zipfile.ZIP_STORED)
                for p, s, *_ in binaries
            ),
        ]
    )
    assert out.getvalue() == expected
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert archive.testzip() is None
    # the blobs of 80 and 120 bytes, over the 64 lowered for the test, went by the kernel
    assert len(copied) == (2 if to_file and known == "yes" else 0)


def _reference_metadata(definitions: list[Definition]) -> bytes:
    """The metadata file built as one tree and pretty-printed whole."""

    def m(name: str) -> str:
        return f"{{{render.METADATA_NS}}}{name}"

    root = etree.Element(m("metadata"), nsmap={None: render.METADATA_NS})
    extension = etree.SubElement(root, m("type-extension"), {"type-id": "Product"})
    if definitions:
        container = etree.SubElement(extension, m("custom-attribute-definitions"))
        groups: dict[tuple[str, str], list[str]] = {}
        for d in definitions:
            definition = etree.SubElement(container, m("attribute-definition"), {"attribute-id": d.id})
            etree.SubElement(definition, m("display-name"), {render.XML_LANG: "x-default"}).text = d.id
            etree.SubElement(definition, m("type")).text = d.type
            etree.SubElement(definition, m("localizable-flag")).text = str(d.localizable).lower()
            etree.SubElement(definition, m("mandatory-flag")).text = "false"
            etree.SubElement(definition, m("externally-managed-flag")).text = "true"
            groups.setdefault(d.group, []).append(d.id)
        group_definitions = etree.SubElement(extension, m("group-definitions"))
        for (group_id, name), ids in sorted(groups.items()):
            group = etree.SubElement(group_definitions, m("attribute-group"), {"group-id": group_id})
            etree.SubElement(group, m("display-name"), {render.XML_LANG: "x-default"}).text = name
            for id in ids:
                etree.SubElement(group, m("attribute"), {"attribute-id": id})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@pytest.mark.parametrize("count", [0, 1, 5, 12])
def test_the_metadata_written_in_slices_is_the_whole_tree_pretty_printed(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(render, "_METADATA_SLICE", 2)
    definitions = [
        Definition(f"akeneo_a{i:02}&<é>", i % 3 == 0, "string", (f"Group{i % 4}", f'Group "{i % 4}"'))
        for i in range(count)
    ]
    out = io.BytesIO()
    render.write_metadata_xml(out, iter(definitions))
    assert out.getvalue() == _reference_metadata(definitions)


def test_values_with_markup_and_whitespace_read_back_as_written() -> None:
    # values are escaped by hand: a raw tab or line break in an attribute would read back as a
    # space, a raw carriage return in a text as a line feed
    odd = 'a&b<c>d"e\tf\ng\rh é'
    texts = {"alt": [ImageText(odd, "fr_FR")], "title": [ImageText("")]}
    custom = [CustomAttribute(odd, "fr_FR", [odd, ""]), CustomAttribute("t", None, [odd], "string")]
    groups = [Group(odd, ((odd, odd),), [odd, "p"], {"p": texts}), Group("plain", (), ["q", odd])]
    product = Product(odd, groups, custom)
    out = io.BytesIO()
    render.write_catalog_xml(out, "cat", [odd], [product])
    root = etree.fromstring(out.getvalue())
    ns = {"c": CATALOG_NS}
    assert root.find("c:product", ns).get("product-id") == odd
    group = root.find("c:product/c:images/c:image-group", ns)
    assert group.get("view-type") == odd
    assert (group[0].get("attribute-id"), group[0].get("value")) == (odd, odd)
    assert group[1].get("path") == odd
    alt, title = group[2]
    assert (alt.text, alt.get(render.XML_LANG), title.text) == (odd, "fr-FR", None)
    plain = root.findall("c:product/c:images/c:image-group", ns)[1]  # images without texts
    assert [image.get("path") for image in plain] == ["q", odd]
    first, second = root.find("c:product/c:custom-attributes", ns)
    assert (first.get("attribute-id"), first.get(render.XML_LANG)) == (odd, "fr-FR")
    assert [v.text or "" for v in first] == [odd, ""]
    assert second.text == odd


# -- the catalog's schema check, in slices -----------------------------------------------------


def _catalog(tmp_path: Path, product_ids: list[str], after: dict[int, bytes] | None = None) -> Path:
    """A catalog of products with one image each, as the renderer writes it; ``after`` puts
    bytes after the product at an index."""
    out = io.BytesIO()
    products = [Product(i, [Group("large", (), [f"images/{n}.jpg"])], []) for n, i in enumerate(product_ids)]
    render.write_catalog_xml(out, "cat", ["large"], products)
    data = out.getvalue()
    for index, extra in sorted((after or {}).items(), reverse=True):
        cut = data.index(b"</product>", data.index(f'product-id="{product_ids[index]}"'.encode())) + 10
        data = data[:cut] + extra + data[cut:]
    path = tmp_path / "catalog.xml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("slice_bytes", [1, 300, 1 << 20])  # a product a slice, a few, one slice
def test_a_catalog_checked_in_slices_passes_whole_and_is_refused_for_a_product_in_any_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_bytes: int
) -> None:
    monkeypatch.setattr(schema, "SLICE", slice_bytes)
    ids = [f"SKU-{n}" for n in range(40)]
    valid = _catalog(tmp_path, ids)
    with valid.open("rb") as f:
        assert schema._valid_in_slices(f, schema.sfcc_schema("catalog.xsd"))
    schema.check_against_schema(valid, "catalog.xsd")
    ids[33] = "X" * 101  # over product-id's maxLength
    invalid = _catalog(tmp_path, ids)
    with pytest.raises(OutputError, match=r"catalog\.xsd: .*maxLength.*'X{101}'"):
        schema.check_against_schema(invalid, "catalog.xsd")


@pytest.mark.parametrize("slice_bytes", [1, 1 << 20])
def test_slices_valid_alone_but_not_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_bytes: int
) -> None:
    # a recommendation may follow the products, never precede one: at a slice's end it is valid
    monkeypatch.setattr(schema, "SLICE", slice_bytes)
    ids = [f"SKU-{n}" for n in range(5)]
    path = _catalog(tmp_path, ids, {2: b"\n  <recommendation/>"})
    with pytest.raises(OutputError, match=r"catalog\.xsd: .*product.*not expected"):
        schema.check_against_schema(path, "catalog.xsd")
    schema.check_against_schema(_catalog(tmp_path, ids, {4: b"\n  <recommendation/>"}), "catalog.xsd")


def test_a_catalog_that_cannot_be_cut_is_checked_whole(tmp_path: Path) -> None:
    path = _catalog(tmp_path, ["A", "B"])
    path.write_bytes(path.read_bytes().replace(b"\n  <product ", b"<product "))
    with path.open("rb") as f:
        assert not schema._valid_in_slices(f, schema.sfcc_schema("catalog.xsd"))
    schema.check_against_schema(path, "catalog.xsd")
    path.write_bytes(path.read_bytes().replace(b'product-id="B"', b'product-id=""'))
    with pytest.raises(OutputError, match=r"catalog\.xsd"):
        schema.check_against_schema(path, "catalog.xsd")


@pytest.mark.parametrize("slice_bytes", [1, 1 << 20])
def test_ids_a_dtd_declares_are_unique_across_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_bytes: int
) -> None:
    # a DTD can make product-id an ID: a duplicate in another slice makes the file invalid
    monkeypatch.setattr(schema, "SLICE", slice_bytes)
    path = _catalog(tmp_path, ["A", "B", "A"])
    data = path.read_bytes()
    dtd = b"\n<!DOCTYPE catalog [<!ATTLIST product product-id ID #IMPLIED>]>"
    cut = data.index(b"?>") + 2
    path.write_bytes(data[:cut] + dtd + data[cut:])
    with pytest.raises(OutputError, match=r"catalog\.xsd: .*A"):
        schema.check_against_schema(path, "catalog.xsd")
    path.write_bytes(data[:cut] + dtd + data[cut:].replace(b'product-id="A"', b'product-id="C"', 1))
    schema.check_against_schema(path, "catalog.xsd")


# each way of writing a path the pattern refuses: at an edge, a reference, another quote
@pytest.mark.parametrize(
    "written",
    [
        b'path="images/3.jpg "',
        b'path=" images/3.jpg"',
        b'path="images/3.jpg&#10;"',
        b'path="images/&#10;3.jpg"',
        b'path="images/3.jpg&#x20;"',
        b"path='images/3.jpg '",
        b'path = "\timages/3.jpg"',
    ],
)
@pytest.mark.parametrize("slice_bytes", [1, 1 << 20])
def test_a_path_only_the_whitespace_pattern_refuses_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: bytes, slice_bytes: int
) -> None:
    # paths are read from the bytes, catalog.xsd checked without their pattern
    # (schema._lean_catalog_schema): every path that pattern refuses must still be refused
    monkeypatch.setattr(schema, "SLICE", slice_bytes)
    path = _catalog(tmp_path, [f"SKU-{n}" for n in range(6)])
    path.write_bytes(path.read_bytes().replace(b'path="images/3.jpg"', written))
    lean = schema._lean_catalog_schema()
    assert lean is not None
    assert lean.validate(etree.parse(path))  # nothing but the pattern refuses it
    with pytest.raises(OutputError, match=r"catalog\.xsd: .*'path'.*pattern"):
        schema.check_against_schema(path, "catalog.xsd")


def test_paths_the_bytes_cannot_vouch_for_are_left_to_the_whole_schema(tmp_path: Path) -> None:
    path = _catalog(tmp_path, [f"SKU-{n}" for n in range(6)])
    data = path.read_bytes()
    body = data[data.index(schema.PRODUCT_START) :]
    assert schema._plain_paths(body)  # the renderer's own paths take the lean check
    # an inner space, a reference, an apostrophe anywhere: valid, but checked whole
    for inner in (b"images/3 x.jpg", b"images/3&amp;x.jpg"):
        assert not schema._plain_paths(body.replace(b"images/3.jpg", inner))
        path.write_bytes(data.replace(b"images/3.jpg", inner))
        schema.check_against_schema(path, "catalog.xsd")
    assert not schema._plain_paths(body.replace(b'path="images/3.jpg"', b"path='images/3.jpg'"))


@pytest.mark.parametrize("batch", [1, 3, 1000])  # a run a pair, a few runs, all in memory
def test_binaries_come_back_sorted_by_path_once_each(monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    monkeypatch.setattr(render._SortedRuns, "CHUNK", 2)
    runs = render._SortedRuns(batch)
    pairs = [(f"images/{n % 7}/é{n % 5}.jpg", f"sha{n}") for n in range(40)]
    for start in range(0, len(pairs), 4):
        runs.add(pairs[start : start + 4])
    expected: dict[str, str] = {}
    for path, sha256 in pairs:  # the first pair of a path is kept
        expected.setdefault(path, sha256)
    assert list(runs.sorted_unique()) == sorted(expected.items())
    assert runs.count == len(expected)
    runs.close()


def test_the_summary_names_the_first_ids_and_warnings_and_counts_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what grows with the catalog is counted, not held (docs/architecture.md#streaming-and-memory)
    monkeypatch.setattr(render, "SUMMARY_IDS", 1)
    monkeypatch.setattr(report, "MAX_REPORT_WARNINGS", 2)
    run_dir = tmp_path / "run"
    products = [
        ProductImages(
            f"SKU-{n}",
            [Image(attribute="main_image", locale=None, format="BMP", path=f"images/{n}.bmp")],
            [CollectionValue(f"collection_{n}", [f"asset_{n}"])],
        )
        for n in range(3)
    ]
    records.IMAGES.write(run_dir, products)
    cache = MediaCache(tmp_path / "cache")
    result = render.render_sfcc(load_config(CONFIG), run_dir, cache, "20260101T000000Z")
    assert (result.custom_attributes, result.custom_attribute_definitions) == (["akeneo_collection0"], 3)
    assert [w.split(" image")[0] for w in result.warnings] == ["product 'SKU-0'", "product 'SKU-1'"]
    assert result.warnings_dropped == 1
    assert result.to_dict()["warnings_total"] == 3
    metadata = (run_dir / "sfcc" / METADATA_FILE).read_bytes()
    assert metadata.count(b"<attribute-definition ") == 3


def test_groups_gathered_per_locale_are_those_gathered_per_view_type() -> None:
    """Without view type mappings every image goes to each view type, and the groups gathered
    once per variation and locale are the ones the general way gathers per view type."""
    config = load_config(CONFIG, {"akeneoLocales": ["en_US", "fr_FR"]})
    assert not (config.link_view_types_mapping or config.file_view_types_mapping)
    texts = {"alt": [ImageText("front", "en_US")]}
    images = [
        Image("a", None, "JPEG", "images/1.jpg"),
        Image("a", "fr_FR", "PNG", "images/2.png", texts=texts),
        Image("a", None, "JPEG", "images/1.jpg"),  # twice: once in each group
        Image("b", None, "PDF", "files/3.pdf"),  # not shown
        Image("a", "de_DE", "JPEG", "images/4.jpg"),  # a locale not exported
        Image("a", None, "JPEG", "images/5.jpg", variation=[("color", "red")]),
        Image("a", "en_US", "GIF", "images/6.gif", variation=[("color", "red")], texts=texts),
        Image("a", None, "WEBP", "images/7.webp", variation=[("color", "blue"), ("size", "s")]),
        Image("a", "en_US", "JPEG", "images/2.png", variation=[("color", "blue"), ("size", "s")]),
    ]
    declared = rules.declared_view_types(config)
    groups = render.image_groups(images, config)
    assert groups == render._mapped_image_groups(images, config, declared)
    assert [g.view_type for g in groups[:3]] == ["large", "large_fr-FR", "medium"]
    assert groups[0].paths == ["images/1.jpg"]
    assert groups[1].texts == {"images/2.png": texts}
