"""A large staging run without the downloads: a real run's records copied N times, renamed.

    .venv/bin/python tests/benchmarks/synthetic_run.py make --template DIR --copies 50 --out DIR
        [--template-cache DIR --cache DIR]
    .venv/bin/python tests/benchmarks/synthetic_run.py measure transform --run-dir DIR
    .venv/bin/python tests/benchmarks/synthetic_run.py measure download_media --run-dir DIR

Not a test. ``make`` reads a run folder the stages wrote against the sandbox (``run_stage.py``
``extract_structure``, ``extract``, ``download_media`` at ``--latency-ms 0``: 2,000 products in a
minute) and writes ``--copies`` renamed copies of its products, models, assets and media records
through :mod:`pim_images.records` writers, so 50 copies of a 2,000-product run stage 100,000
products of the sandbox's shape: every ``SKU-00001``, ``MODEL-00001``, ``sku_00001`` (products,
models, asset codes, media file names) gets ``c<copy>`` appended, so each copy has its own items
and media keys, shared within a copy as in the template.

With ``--template-cache`` (the template's media cache) and ``--cache``, each copy's media get
binaries of their own too: a copy's blob is the template's bytes with ``c<copy>`` appended
(image readers ignore bytes after an image's end), written under its own sha256 in ``--cache``
with its media record saying so (size, sha256, CRC-32). So a render of the copies puts as many
distinct files in its archive as a real run of that size, each a file of its own to open: hard
links or shared blobs would leave most of that cost out.

``measure`` runs one stage in this process and prints its CPU seconds, items per CPU second and
peak RSS (``VmHWM``). The media stage is measured without Akeneo: its cache answers every key
from the key itself (a made-up sha256), so what is measured is the stage's own work on the keys
(collecting, ordering, writing ``media.jsonl``), not downloads; it runs in a temporary folder
linking the run's other files, so the run's own ``media.jsonl`` is left as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from pim_images import records
from pim_images.config import load_config
from pim_images.media import download_media
from pim_images.records import MediaRecord
from pim_images.transform import transform_catalog

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
OVERRIDES = {"akeneoImageType": "both", "akeneoImageImportType": "both"}
_CODE = re.compile(rb"((?:sku|model)[_-]\d+)", re.IGNORECASE)


def _copies(file: records.JsonLines, template: Path, copies: int, first: int = 0) -> Iterator[Any]:
    if not file.exists(template):
        return
    decode = msgspec_decoder(file)
    for copy in range(first, first + copies):
        suffix = b"c%d" % copy
        with file.path(template).open("rb") as lines:
            for line in lines:
                if line.strip():
                    yield decode(_CODE.sub(lambda m, s=suffix: m.group(1) + s, line))


def msgspec_decoder(file: records.JsonLines) -> Any:
    return msgspec.json.Decoder(file.record).decode


def _own_blobs(template: Path, template_cache: Path, cache: Path, copies: int) -> Iterator[Any]:
    """The copies' media records, each with a blob of its own in ``cache`` (the template's
    bytes and ``c<copy>``; written when missing)."""
    for copy in range(copies):
        for record in _copies(records.MEDIA, template, 1, first=copy):
            yield record if record.sha256 is None else _own_blob(record, template_cache, cache, copy)


def _own_blob(record: MediaRecord, template_cache: Path, cache: Path, copy: int) -> MediaRecord:
    assert record.sha256 is not None
    data = (template_cache / "blobs" / record.sha256[:2] / record.sha256).read_bytes() + b"c%d" % copy
    sha256 = hashlib.sha256(data).hexdigest()
    blob = cache / "blobs" / sha256[:2] / sha256
    if not blob.exists():
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
    return msgspec.structs.replace(record, sha256=sha256, size=len(data), crc32=zlib.crc32(data))


def make(args: argparse.Namespace) -> None:
    template, out = Path(args.template), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for document in ("attributes.json", "asset_families.json", "import_mode.json"):
        if (template / document).exists():
            shutil.copy(template / document, out / document)
    for file in (records.PRODUCTS, records.MODELS, records.ASSETS, records.MEDIA):
        if file.exists(template):
            copies = _copies(file, template, args.copies)
            if file is records.MEDIA and args.cache:
                copies = _own_blobs(template, Path(args.template_cache), Path(args.cache), args.copies)
            count = file.write(out, copies)
            print(f"{file.name}: {count}")


class _AnsweringCache:
    """A media cache that knows every key: the stage's work on keys, without downloads."""

    def lookup(self, key: str) -> MediaRecord:
        return MediaRecord(key=key, sha256=hashlib.sha256(key.encode()).hexdigest(), size=1000, format="JPEG")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(args: argparse.Namespace) -> None:
    run_dir = Path(args.run_dir)
    started, cpu = time.perf_counter(), time.process_time()
    if args.stage == "transform":
        items = transform_catalog(load_config(CONFIG, OVERRIDES), run_dir).products
    else:
        # in a folder of its own: its media.jsonl (made-up records) must not replace the run's,
        # which transform measured later would read
        with tempfile.TemporaryDirectory(prefix="pim-images-synthetic-") as scratch:
            for file in run_dir.iterdir():
                if file.name != records.MEDIA.name:
                    (Path(scratch) / file.name).symlink_to(file.resolve())
            items = download_media(None, Path(scratch), _AnsweringCache()).media  # type: ignore[arg-type]
    cpu = time.process_time() - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "stage": args.stage,
        "items": items,
        "cpu_s": round(cpu, 3),
        "wall_s": round(time.perf_counter() - started, 3),
        "items_per_cpu_s": round(items / cpu) if cpu else None,
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "user_s": usage.ru_utime,
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    maker = commands.add_parser("make")
    maker.add_argument("--template", required=True)
    maker.add_argument("--copies", type=int, required=True)
    maker.add_argument("--out", required=True)
    maker.add_argument("--template-cache", help="the template run's media cache (with --cache)")
    maker.add_argument("--cache", help="a media cache for the copies' own blobs")
    measurer = commands.add_parser("measure")
    measurer.add_argument("stage", choices=("transform", "download_media"))
    measurer.add_argument("--run-dir", required=True)
    args = parser.parse_args()
    make(args) if args.command == "make" else measure(args)


if __name__ == "__main__":
    main()
