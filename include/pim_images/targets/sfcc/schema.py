"""SFCC's import schemas, shipped with the package, and the check every written XML passes
before it can be delivered (docs/bad-input.md#schema-validation).

The XSDs (``schemas/catalog.xsd``, ``metadata.xsd`` and the ``xml.xsd`` they import) are
byte-for-byte copies of Salesforce's (provenance in ``schemas/SOURCES.md``); they are parsed
from their files so that the relative ``xml.xsd`` import resolves offline. The tests validate
with the same copy.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import IO

from lxml import etree

from pim_images.errors import OutputError
from pim_images.staging import StagingPath

SCHEMAS = Path(__file__).resolve().parent / "schemas"
#: Schema complaints quoted in the error: the first few are enough to find the fault.
MAX_COMPLAINTS = 5
#: The repeated elements of each file: the parser hands back only these (one Python step per
#: product, not per element), each dropped once read; their content is validated all the same.
RECORDS = {
    "catalog.xsd": ("{http://www.demandware.com/xml/impex/catalog/2006-10-31}product",),
    "metadata.xsd": tuple(
        f"{{http://www.demandware.com/xml/impex/metadata/2006-10-31}}{name}"
        for name in ("attribute-definition", "attribute-group")
    ),
}


@functools.cache
def sfcc_schema(name: str) -> etree.XMLSchema:
    """The compiled schema ``name`` (``catalog.xsd`` or ``metadata.xsd``), compiled once per process.

    :raises OSError: no such schema file.
    """
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def check_against_schema(path: StagingPath, schema: str) -> None:
    """Validate the written file ``path`` against ``schema``, so memory stays flat whatever the
    catalog's size.

    A catalog (``catalog.xsd``) is validated in slices of about :data:`SLICE` bytes, cut before
    a product's start tag as the renderer writes it (:data:`PRODUCT_START`), each a document of
    its own: the file's head (declaration, root, header), the slice's products, the root's end
    tag. Slices that all validate, with only products after the head, make a valid file:
    catalog.xsd has no identity constraint (no key, uniqueness or ID across products) and its
    root holds the header, then products. Anything else (a slice that does not validate or
    holds another element, a file without that start tag, a head with a DTD, comment or CDATA,
    whose DTD could declare IDs unique across slices) and the metadata file are validated
    whole while parsing, each record (:data:`RECORDS`) dropped once read: that check's verdict
    and complaints are the ones reported. A slice whose image paths its bytes show to be free of
    whitespace and references (:func:`_plain_paths`) is validated against catalog.xsd without
    the paths' whitespace pattern (:func:`_lean_catalog_schema`), which they then match.

    Its cost, measured on a 10,000-product catalog (23 MB): 0.48 CPU s in slices, 0.6 s while
    parsing; parsing the whole tree then validating it takes 0.46 s but holds the catalog in
    memory, and a parser target (no tree) is not validated by lxml at all. On a 100,000-product
    catalog of 264 MB: 5.3 CPU s in slices against the whole catalog.xsd, 3.3 s with the lean
    path check.

    :param schema: ``catalog.xsd`` or ``metadata.xsd``.
    :raises OutputError: the file does not validate; the error names the file and the
        schema's first complaints (with the line when the parser knows it). Such a file is never delivered.
    """
    with path.open("rb") as f:
        if schema == "catalog.xsd" and _valid_in_slices(f, sfcc_schema(schema)):
            return
        f.seek(0)
        # iterparse's complaints are lxml's global error log, which keeps earlier parses' (the
        # slices', an earlier file's): emptied so that only this file's are quoted
        etree.clear_error_log()
        try:
            for _, element in etree.iterparse(
                f, events=("end",), tag=RECORDS[schema], schema=sfcc_schema(schema)
            ):
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del element.getparent()[0]
        except etree.XMLSyntaxError as exc:
            complaints = [_complaint(e) for e in exc.error_log][:MAX_COMPLAINTS] or [str(exc)]
            raise OutputError(
                [f"{path.name} does not validate against SFCC's {schema}: {c}" for c in complaints]
            ) from exc


#: Bytes of a catalog validated at a time (0.125 to 1 MiB cost the same CPU; a slice's tree
#: takes some ten times its bytes).
SLICE = 128 << 10
#: A product's start tag as the renderer writes it: where a catalog is cut into slices.
PRODUCT_START = b"\n  <product "
_PRODUCT = "{http://www.demandware.com/xml/impex/catalog/2006-10-31}product"
_ROOT_NAME = re.compile(rb"<([^?!/\s>][^\s/>]*)")


def _valid_in_slices(f: IO[bytes], schema: etree.XMLSchema) -> bool:
    """Whether the catalog ``f`` validates slice by slice (:func:`check_against_schema`);
    ``False`` as soon as a slice does not, or when the file cannot be cut."""
    data = f.read(SLICE)
    while (first := data.find(PRODUCT_START)) < 0:
        more = f.read(SLICE)
        if not more:
            return False
        data += more
    head, data = data[:first], data[first:]
    root_name = _ROOT_NAME.search(head.split(b"?>", 1)[-1])
    # a DTD (in the head) can make an attribute an ID, unique across the whole file, which
    # slices validated apart would not see: such a file is validated whole
    if root_name is None or b"<!" in head:
        return False
    end_tag = b"</" + root_name.group(1) + b">"
    parser = etree.XMLParser()
    lean = _lean_catalog_schema() if schema is sfcc_schema("catalog.xsd") else None
    # the head is in every slice: read once, past the XML declaration (its quotes may be
    # single), which must say UTF-8 (the bytes are then read as ASCII); it has no DTD, which
    # could give an attribute a value the bytes do not show
    declaration = _DECLARATION.match(head)
    if declaration is None or not _plain_paths(head[declaration.end() :]):
        lean = None
    try:
        # the head must leave only the root open: then each slice's body is whole elements
        head_children = len(etree.fromstring(head + end_tag, parser))
        at_end = False
        while data:
            cut = data.find(PRODUCT_START, SLICE)
            while cut < 0 and not at_end:
                more = f.read(SLICE)
                at_end = not more
                data += more
                cut = data.find(PRODUCT_START, SLICE)
            body, data = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
            root = etree.fromstring(head + body + (end_tag if data else b""), parser)
            checked = lean if lean is not None and _plain_paths(body) else schema
            if not checked.validate(root) or any(c.tag != _PRODUCT for c in root[head_children:]):
                return False
    except etree.XMLSyntaxError:
        return False
    return True


#: The type of an image's ``path`` in catalog.xsd, and its pattern: no whitespace at either
#: end, no line break. libxml2 matches a pattern a character at a time: this one, on some
#: million paths, took about 2 of a 100,000-product render's 18 CPU s.
PATH_TYPE = "simpleType.Generic.NonEmptyString.1800"
WHITESPACE_PATTERN = r"\S|(\S(.*)\S)"
_XSD = "{http://www.w3.org/2001/XMLSchema}"


@functools.cache
def _lean_catalog_schema() -> etree.XMLSchema | None:
    """catalog.xsd without :data:`PATH_TYPE`'s :data:`WHITESPACE_PATTERN`, for the slices
    whose paths :func:`_plain_paths` has read: on them it gives catalog.xsd's verdict.

    ``None`` (every slice is then validated against catalog.xsd) unless catalog.xsd is as that
    needs: the type has that pattern and a ``minLength`` of 1 or more (an empty path fails
    without the pattern too), and its only use is as the type of attributes named ``path``
    (nothing derives from it: no restriction, extension, list or union names it).
    """
    doc = etree.parse(str(SCHEMAS / "catalog.xsd"))
    found = doc.findall(f".//{_XSD}simpleType[@name='{PATH_TYPE}']/{_XSD}restriction")
    if len(found) != 1:
        return None
    restriction = found[0]
    patterns = restriction.findall(f"{_XSD}pattern")
    lengths = [int(facet.get("value")) for facet in restriction.findall(f"{_XSD}minLength")]
    uses = [
        (element.tag, element.get("name"), name)
        for element in doc.iter()
        for name, value in element.items()
        if PATH_TYPE in value.split() and element is not restriction.getparent()
    ]
    if (
        [facet.get("value") for facet in patterns] != [WHITESPACE_PATTERN]
        or not lengths
        or min(lengths) < 1
        or any(use != (f"{_XSD}attribute", "path", "type") for use in uses)
    ):
        return None
    restriction.remove(patterns[0])
    return etree.XMLSchema(doc)


#: A file's XML declaration naming UTF-8, as the renderer writes it (quotes single or double).
_DECLARATION = re.compile(rb"<\?xml [^<>?]*encoding=([\"'])(?i:utf-8)\1[^<>?]*\?>")
#: A ``path`` attribute's value (and, a superset, any ``path="…"`` in a text).
_PATH_VALUE = re.compile(rb'path\s*=\s*"([^"]*)"')
#: Bytes a plain path has none of: whitespace; a reference (``&#10;`` is a line break); markup
#: (a reading that went past a value's end).
_NOT_IN_PLAIN_PATH = (b" ", b"\t", b"\n", b"\r", b"&", b"<")


def _plain_paths(data: bytes) -> bool:
    """Whether every ``path`` attribute in the XML fragment ``data`` (with no DTD) surely
    matches :data:`WHITESPACE_PATTERN`, read from its bytes: without a single quote (every
    value is then quoted ``"…"``), each value has none of :data:`_NOT_IN_PLAIN_PATH`.

    Stricter than the pattern (a path with an inner space, any apostrophe in the fragment give
    ``False``), never looser: ``False`` sends the slice to catalog.xsd whole.
    """
    if b"'" in data:
        return False
    values = b"\x00".join(_PATH_VALUE.findall(data))
    return not any(byte in values for byte in _NOT_IN_PLAIN_PATH)


def _complaint(entry: etree._LogEntry) -> str:
    """One schema complaint; streaming validation often knows no line (0), then none is given."""
    return f"line {entry.line}: {entry.message}" if entry.line else entry.message
