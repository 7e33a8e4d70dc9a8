"""The runs page's app (plugins/pim_images_airflow/runs_page.py) served by a real HTTP server:
the listing and the trend from the run reports under the staging base, each run's report page,
and no URL that reads outside the staging base's runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from run_reports import write_run, write_runs

from pim_images_airflow.runs_page import create_app
from pim_sandbox.http_server import serve_in_thread


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A staging base with three runs, and secrets beside and above its runs folder."""
    root = tmp_path_factory.mktemp("page")
    base = root / "staging"
    write_runs(base)
    (base / "report.html").write_text("SECRET in the staging base")
    (root / "report.html").write_text("SECRET above the staging base")
    (base / "runs" / ".hidden").mkdir()
    (base / "runs" / ".hidden" / "report.html").write_text("SECRET in a hidden folder")
    return base


@pytest.fixture(scope="module")
def page(staging: Path) -> Iterator[httpx.Client]:
    with serve_in_thread(create_app(lambda: staging)) as url, httpx.Client(base_url=url) as client:
        yield client


def test_the_page_lists_each_run_newest_first_with_its_figures(page: httpx.Client) -> None:
    answer = page.get("/")
    assert answer.status_code == 200
    rows = re.findall(r'<tr class="run" data-run-id="([^"]+)">(.*?)</tr>', answer.text, re.S)
    assert [run_id for run_id, _ in rows] == [
        "scheduled__2026-03-03T00:00:05+00:00",
        "scheduled__2026-03-02T00:00:05+00:00",
        "scheduled__2026-03-01T00:00:05+00:00",
    ]
    failed, second, _ = (cells for _, cells in rows)
    assert 'class="failed">failed<' in failed and "PRODUCT-IMAGES" not in failed
    cells = re.findall(r"<td[^>]*>(.*?)</td>", second, re.S)
    assert cells[2:9] == ["success", "differential", "2 min 30 s", "10", "64", "62 / 2", "0"]
    assert "bspk: <code>PRODUCT-IMAGES_V2_20260302T000005Z.csv</code>" in cells[9]
    assert "(1,234 bytes)" in cells[9]


def test_the_trend_draws_images_and_duration_per_run_oldest_first(page: httpx.Client) -> None:
    svg = re.search(r"<svg.*?</svg>", page.get("/").text, re.S)
    assert svg is not None
    bars = re.findall(r'<rect class="images"[^>]*height="([\d.]+)"[^>]*><title>([^<]+)</title>', svg[0])
    assert [title for _, title in bars] == [
        "scheduled__2026-03-01T00:00:05+00:00: 40 images",
        "scheduled__2026-03-02T00:00:05+00:00: 64 images",
        "scheduled__2026-03-03T00:00:05+00:00: 12 images",
    ]
    heights = [float(h) for h, _ in bars]
    assert heights[1] == max(heights) and heights[0] == pytest.approx(heights[1] * 40 / 64, abs=0.1)
    assert re.findall(r"<circle [^>]*><title>[^:]+:[^:]+:[^:]+:\d\d: ([^<]+)</title>", svg[0]) == [
        "1 min 35 s",
        "2 min 30 s",
        "30 s",
    ]


def test_a_runs_link_opens_its_report_page(page: httpx.Client) -> None:
    links = re.findall(r'<a href="(runs/[^"]+/)">', page.get("/").text)
    assert links[0] == "runs/scheduled__2026-03-03T00_00_05_00_00/"
    answer = page.get("/" + links[0])
    assert answer.status_code == 200
    assert "PIM images import <span" in answer.text
    assert "sftp.example.com refused the upload" in answer.text


def test_a_report_page_is_found_by_run_id_too(page: httpx.Client) -> None:
    answer = page.get("/runs/scheduled__2026-03-01T00:00:05+00:00/")
    assert answer.status_code == 200 and "PRODUCT-IMAGES_V2_20260301T000005Z.csv" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/runs/%2e%2e/",  # runs/.. is the staging base
        "/runs/%2E%2E/",
        "/runs/..%2f..%2f/",
        "/runs/..%2F/",
        "/runs/.hidden/",
        "/runs/%2e/",
        "/runs/..%5c..%5c/",
        "/runs/%252e%252e/",
        "/runs/no-such-run/",
    ],
)
def test_no_run_in_the_url_reads_outside_the_runs(page: httpx.Client, path: str) -> None:
    answer = page.get(httpx.URL(path))
    assert "SECRET" not in answer.text
    assert answer.status_code == 404


def test_a_run_without_report_is_not_listed_and_a_broken_report_is_left_out(tmp_path: Path) -> None:
    write_run(tmp_path, "manual__1", started=_day(1), seconds=5, images=3)
    (tmp_path / "runs" / "manual__2").mkdir()  # running: no report yet
    (tmp_path / "runs" / "manual__3").mkdir()
    (tmp_path / "runs" / "manual__3" / "report.json").write_text("{ cut")
    with serve_in_thread(create_app(lambda: tmp_path)) as url:
        text = httpx.get(url + "/").text
    assert re.findall(r'data-run-id="([^"]+)"', text) == ["manual__1"]


def test_without_runs_the_page_says_so(tmp_path: Path) -> None:
    with serve_in_thread(create_app(lambda: tmp_path)) as url:
        answer = httpx.get(url + "/")
    assert answer.status_code == 200 and "No run report yet" in answer.text


def _day(n: int):
    from datetime import UTC, datetime

    return datetime(2026, 4, n, tzinfo=UTC)
