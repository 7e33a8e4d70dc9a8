"""The "PIM images" page of the Airflow UI: recent runs, a trend, and each run's report
(docs/runs.md#runs-page).

A FastAPI app the plugin mounts under the API server (``/pim-images``); the UI shows it in an
iframe from its navigation. Everything it shows comes from the run reports under the staging
base (``runs/<run folder>/report.json`` and ``report.html``, docs/runs.md#run-report), never
from the metadata database, so the page reads the same files a person would.

- ``GET /``: the newest runs (mode, status, duration, counts, warnings, delivered files), and an
  inline SVG chart of images and duration per run, oldest first;
- ``GET /runs/<run id or run folder>/``: that run's ``report.html`` as the teardown wrote it.

The run is reduced to its folder's name as :func:`pim_images.staging.run_folder` does; a name
that is not a run folder (``..``, a hidden name) is answered 404 before any path is built, so a
URL cannot read outside the staging base's ``runs/``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, params
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from pim_images.outline import Outline, outline
from pim_images.report import REPORT, REPORT_PAGE
from pim_images.staging import StagingPath, run_folder

log = logging.getLogger(__name__)

#: Where the plugin mounts the app under the API server.
URL_PREFIX = "/pim-images"
#: The DAG whose runs the page shows: reading it is the permission the page asks for.
DAG_ID = "pim_images_import"
#: Runs listed on the page (the newest reports first).
MAX_RUNS = 50
#: What a run folder's name can be: what ``run_folder`` leaves of a run id, not starting with a dot.
_RUN_FOLDER = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,249}")


@dataclass(frozen=True)
class RunRow:
    """One listed run: its folder, when it ran, and the outline of its report.

    :ivar seconds: from the run's start to its report (``None`` for a report without times).
    :ivar downloaded: media downloaded, and ``from_cache`` taken from the media cache.
    """

    folder: str
    run_id: str
    started: datetime | None
    seconds: float | None
    outline: Outline
    downloaded: int | None
    from_cache: int | None
    warnings_total: int


def create_app(staging: Callable[[], StagingPath], *, dependencies: Sequence[params.Depends] = ()) -> FastAPI:
    """The page's app.

    :param staging: gives the staging base (read at each request: a test or a deployment can
        move it without a restart).
    :param dependencies: run before every route (the plugin's: Airflow's check that the user
        may read the import DAG's runs).
    """
    app = FastAPI(title="PIM images runs", dependencies=list(dependencies), docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def runs() -> HTMLResponse:
        rows = recent_runs(staging())
        return HTMLResponse(_PAGE.render(rows=rows, chart=trend_svg(list(reversed(rows)))))

    @app.get("/runs/{run}/", response_class=HTMLResponse)
    def run_report(run: str) -> HTMLResponse:
        folder = run_folder(run).removeprefix("runs/")  # a run id or its folder's name
        if not _RUN_FOLDER.fullmatch(folder):
            raise HTTPException(status_code=404, detail="no such run")
        page = staging() / "runs" / folder / REPORT_PAGE
        try:
            with page.open("rb") as f:
                return HTMLResponse(f.read().decode("utf-8"))
        except FileNotFoundError:
            raise HTTPException(status_code=404, detail="no report for this run (yet)") from None

    return app


class AirflowApp:
    """The app as the plugin mounts it (an ASGI app), built at its first request: the scheduler
    and the task processes load the plugin too (for its listener), and never serve the page, so
    they never import the API server's security module.
    """

    def __init__(self) -> None:
        self._app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = airflow_app()
        await self._app(scope, receive, send)


def airflow_app() -> FastAPI:
    """The page for the API server: the staging base of the deployment
    (:func:`pim_images_airflow.staging.staging_base`), and only for a logged-in user allowed to
    read the runs of ``pim_images_import`` (Airflow's auth manager: the UI's session cookie or
    a bearer token; 401 without one, 403 without the permission)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    from pim_images_airflow.staging import staging_base

    allowed = Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=DAG_ID))
    return create_app(staging_base, dependencies=[allowed])


def recent_runs(base: StagingPath, limit: int = MAX_RUNS) -> list[RunRow]:
    """The ``limit`` newest run reports under ``base/runs`` (by the report's time), newest run
    first (by its start); a report that cannot be read is logged and left out."""
    runs = base / "runs"
    if not runs.exists():
        return []
    found = []
    for folder in runs.iterdir():  # type: ignore[attr-defined]
        report = folder / REPORT
        try:
            found.append((report.stat().st_mtime, folder.name, report))
        except FileNotFoundError:  # a run still going: no report yet
            continue
    found.sort(reverse=True)
    rows = []
    for mtime, name, report in found[:limit]:
        try:
            with report.open("rb") as f:
                row = _row(name, json.loads(f.read().decode("utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            log.exception("run report %s cannot be read", report)
            continue
        rows.append((row.started.timestamp() if row.started else mtime, row))
    return [row for _, row in sorted(rows, key=lambda pair: pair[0], reverse=True)]


def _row(folder: str, report: dict[str, Any]) -> RunRow:
    run = report.get("run") or {}
    started, ended = _when(run.get("start_date")), _when(run.get("end_date"))
    media = (report.get("stages") or {}).get("download_media", {}).get("summary") or {}
    return RunRow(
        folder=folder,
        run_id=str(run.get("run_id") or folder),
        started=started,
        seconds=(ended - started).total_seconds() if started and ended else None,
        outline=outline(report),
        downloaded=media.get("downloaded"),
        from_cache=media.get("from_cache"),
        warnings_total=int(report.get("warnings_total") or 0),
    )


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``42 s``; an empty string when unknown."""
    if seconds is None:
        return ""
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def trend_svg(rows: Sequence[RunRow], width: int = 640, height: int = 160) -> str:
    """Images (bars) and duration (line) per run, oldest first, as an inline SVG chart; each
    series scaled to its own maximum, each point titled with its run and value."""
    if not rows:
        return ""
    pad, n = 24, len(rows)
    step = (width - 2 * pad) / n
    top_images = max((r.outline.images or 0) for r in rows) or 1
    top_seconds = max((r.seconds or 0) for r in rows) or 1
    plot = height - 2 * pad
    bars, points = [], []
    for i, r in enumerate(rows):
        x = pad + i * step
        h = plot * (r.outline.images or 0) / top_images
        bars.append((x + step * 0.15, height - pad - h, step * 0.7, h, r.run_id, r.outline.images or 0))
        if r.seconds is not None:
            points.append((x + step / 2, height - pad - plot * r.seconds / top_seconds, r.run_id, r.seconds))
    return _CHART.render(
        width=width,
        height=height,
        pad=pad,
        bars=bars,
        points=points,
        line=" ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points),
        top_images=top_images,
        top_seconds=duration(top_seconds),
        duration=duration,
    )


_ENV = Environment(autoescape=True)
_ENV.filters["duration"] = duration

_CHART = _ENV.from_string(
    """<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="images and duration per run"
 width="{{ width }}" height="{{ height }}" viewBox="0 0 {{ width }} {{ height }}" class="trend">
<line x1="{{ pad }}" y1="{{ height - pad }}" x2="{{ width - pad }}" y2="{{ height - pad }}"
 stroke="#888"/>
<text x="{{ pad }}" y="14" font-size="11" fill="#0969da">images (max {{ top_images }})</text>
<text x="{{ width - pad }}" y="14" font-size="11" fill="#bc4c00"
 text-anchor="end">duration (max {{ top_seconds }})</text>
{% for x, y, w, h, run, images in bars %}<rect class="images"
 x="{{ '%.1f'|format(x) }}" y="{{ '%.1f'|format(y) }}" width="{{ '%.1f'|format(w) }}"
 height="{{ '%.1f'|format(h) }}" fill="#0969da" opacity=".6"
><title>{{ run }}: {{ images }} images</title></rect>
{% endfor %}{% if points %}<polyline class="duration" points="{{ line }}" fill="none" stroke="#bc4c00"
 stroke-width="2"/>
{% for x, y, run, seconds in points %}<circle cx="{{ '%.1f'|format(x) }}" cy="{{ '%.1f'|format(y) }}"
 r="3" fill="#bc4c00"><title>{{ run }}: {{ duration(seconds) }}</title></circle>
{% endfor %}{% endif %}</svg>"""
)

_PAGE = _ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PIM images: recent runs</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem}
.success{color:#1a7f37}.failed{color:#cf222e}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right}code{font-size:.85em}
</style></head><body>
<h1>PIM images: recent runs</h1>
{% if rows %}
<h2>Images and duration per run</h2>
{{ chart|safe }}
<h2>Runs ({{ rows|length }}, newest first)</h2>
<table id="runs"><tr><th>run</th><th>started</th><th>status</th><th>mode</th><th>duration</th>
<th>products</th><th>images</th><th>downloaded / from cache</th><th>warnings</th><th>delivered files</th></tr>
{% for r in rows %}<tr class="run" data-run-id="{{ r.run_id }}">
<td><a href="runs/{{ r.folder }}/">{{ r.run_id }}</a></td>
<td>{{ r.started.strftime('%Y-%m-%d %H:%M UTC') if r.started else '' }}</td>
<td class="{{ r.outline.status }}">{{ r.outline.status }}</td><td>{{ r.outline.mode }}</td>
<td class="n">{{ r.seconds|duration }}</td>
<td class="n">{{ r.outline.products if r.outline.products is not none else '' }}</td>
<td class="n">{{ r.outline.images if r.outline.images is not none else '' }}</td>
<td class="n">{% if r.downloaded is not none %}{{ r.downloaded }} / {{ r.from_cache }}{% endif %}</td>
<td class="n">{{ r.warnings_total }}</td>
<td>{% for f in r.outline.files %}{{ f.target }}: <code>{{ f.name }}</code>{% if f.size is not none %}
({{ '{:,}'.format(f.size) }} bytes){% endif %}<br>{% endfor %}</td></tr>
{% endfor %}</table>
{% else %}<p>No run report yet: each run of <code>pim_images_import</code> writes one when it ends.</p>
{% endif %}
</body></html>
"""
)
