"""Benchmark of the media stage's check of each download (``identify_image``) on product photos.

    .venv/bin/python tests/benchmarks/bench_identify.py [--side 2000] [--repeats 5] [--no-record]

Not a test: ``make bench`` runs it first. The sandbox's pictures are 24 to 96 px a side, so
``bench_pipeline.py`` cannot show what decoding a real catalog's images costs; a PIM's product
photos are megapixel files. This takes the first of the sandbox's photos (``--photo-side``:
a textured object on a white background, ``--side`` px a side), saves it in each format the
targets take, and measures the CPU time of :func:`pim_images.media.identify_image` on it
(the best of ``--repeats``; the process's CPU clock), against the check as it was before JPEGs
were decoded scaled down (``verify``, then the whole image decoded at full size).

Per format it prints the file's size, the CPU milliseconds a check, the checks a CPU-second,
and the cores the checks alone take at the media API ceiling (4 calls in flight, ``L`` s a
call: 4 / L files/s) for ``--latency-ms``. It appends its figures to
``tests/benchmarks/identify_results.jsonl``.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_pipeline import machine  # the machine described as the pipeline's figures describe it
from PIL import Image

from pim_images.media import identify_image
from pim_sandbox.catalog.media import photo_picture

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "identify_results.jsonl"
FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "JPEG": ("JPEG", {"quality": 88}),
    "JPEG progressive": ("JPEG", {"quality": 88, "progressive": True}),
    "PNG": ("PNG", {}),
    "WEBP": ("WEBP", {"quality": 85}),
}


#: the table's columns' widths (negative: aligned left)
WIDTHS = (-18, 6, 10, 10, 14, 18)


def cpu_ms(call: Callable[[], object], repeats: int) -> float:
    """The least CPU time of ``call()`` over ``repeats`` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        call()
        best = min(best, time.process_time() - started)
    return best * 1000


def full_decode(content: bytes) -> None:
    """The check before JPEGs were decoded scaled down: ``verify``, then ``load`` at full size."""
    with Image.open(io.BytesIO(content)) as image:
        image.verify()
    with Image.open(io.BytesIO(content)) as image:
        image.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2000, help="the photo's side, in px")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="a media download's latency")
    parser.add_argument("--no-record", action="store_true", help="do not append to identify_results.jsonl")
    args = parser.parse_args()
    picture = photo_picture(0, args.side)  # the first of the sandbox's photos (--photo-side)
    ceiling = 4 / (args.latency_ms / 1000)  # files/s
    rows = []
    for name, (fmt, options) in FORMATS.items():
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        content = buffer.getvalue()
        identified = identify_image(content, f"photo.{fmt.lower()}")
        assert identified == (fmt, None, False), identified
        check = cpu_ms(lambda content=content: identify_image(content), args.repeats)
        whole = cpu_ms(lambda content=content: full_decode(content), args.repeats)
        rows.append(
            {
                "format": name,
                "kib": round(len(content) / 1024),
                "check_ms": round(check, 2),
                "full_decode_ms": round(whole, 2),
                "checks_per_cpu_s": round(1000 / check),
                "cores_at_ceiling": round(ceiling * check / 1000, 2),
            }
        )
    print(
        f"identify_image on a {args.side} x {args.side} px product photo; media API ceiling "
        f"{ceiling:.0f} files/s ({args.latency_ms:g} ms a call, 4 in flight)"
    )
    header = ("format", "KiB", "check ms", "whole ms", "checks/CPU-s", "cores at ceiling")
    print("".join(f"{h:>{w}}" if w > 0 else f"{h:<{-w}}" for h, w in zip(header, WIDTHS, strict=True)))
    for row in rows:
        print(
            f"{row['format']:<18}{row['kib']:>6}{row['check_ms']:>10.1f}{row['full_decode_ms']:>10.1f}"
            f"{row['checks_per_cpu_s']:>14}{row['cores_at_ceiling']:>18.2f}"
        )
    if not args.no_record:
        with RESULTS.open("a") as f:
            record = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "settings": {"side": args.side, "repeats": args.repeats, "latency_ms": args.latency_ms},
                "rows": rows,
            }
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
