"""What a run did, for people: the run's note in the Airflow UI and the report as an HTML page.

Both are views of ``report.json`` (:mod:`pim_images.report`): the note is a few lines of
Markdown (Airflow renders a run's note as Markdown in its grid), the page shows every error,
every warning and every delivered file. See docs/runs.md#run-report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment

#: Warnings listed on the HTML page (the JSON report keeps up to 10,000 per stage).
MAX_PAGE_WARNINGS = 2_000


@dataclass(frozen=True)
class DeliveredFile:
    """One delivered file: its target, remote folder, name, size (bytes) and SHA-256."""

    target: str
    remote_dir: str
    name: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class Outline:
    """The figures an ops engineer reads first.

    :ivar mode: ``full``, ``differential``, ``full (configuration changed)`` or ``full (runs
        overlapped)``.
    :ivar products: products and masters transformed (``None`` when the stage did not run).
    :ivar warnings: stage -> number of warnings, for the stages that had some.
    """

    status: str
    mode: str
    products: int | None
    images: int | None
    errors: list[str]
    warnings: dict[str, int]
    files: list[DeliveredFile] = field(default_factory=list)
    #: stage -> why it was skipped (a delivery with nothing to deliver)
    skipped: dict[str, str] = field(default_factory=dict)


def outline(report: dict[str, Any]) -> Outline:
    """The outline of a run report (the dict :func:`pim_images.report.assemble_report` wrote)."""
    stages = report.get("stages") or {}
    configuration = report.get("configuration") or {}
    mode = str(configuration.get("importMode") or "unknown")
    if mode == "differential" and report.get("configuration_changed"):
        mode = "full (configuration changed)"
    elif mode == "differential" and report.get("runs_overlapped"):
        mode = "full (runs overlapped)"
    transform = (stages.get("transform") or {}).get("summary") or {}
    files = []
    for stage, entry in stages.items():
        summary = entry.get("summary") or {}
        if not stage.startswith("deliver_") or entry.get("status") != "success":
            continue
        for name in summary.get("files") or []:
            files.append(
                DeliveredFile(
                    target=str(summary.get("target") or stage.removeprefix("deliver_")),
                    remote_dir=str(summary.get("remote_dir") or ""),
                    name=name,
                    size=(summary.get("sizes") or {}).get(name),
                    sha256=(summary.get("sha256") or {}).get(name),
                )
            )
    return Outline(
        status=str(report.get("status") or "unknown"),
        mode=mode,
        products=transform.get("products"),
        images=transform.get("images"),
        errors=[f"{e['stage']}: {e['message']}" for e in report.get("errors") or []],
        warnings={s: e["warnings_total"] for s, e in stages.items() if e.get("warnings_total")},
        files=files,
        skipped={
            s: str(e["summary"]["skipped"])
            for s, e in stages.items()
            if (e.get("summary") or {}).get("skipped")
        },
    )


def run_note(report: dict[str, Any], *, max_errors: int = 5) -> str:
    """The run's note (Markdown): status and mode, counts, warnings by stage, the first errors,
    and each delivered file with its size."""
    o = outline(report)
    checked = o.mode != "unknown"  # no configuration: the run stopped at its checks
    lines = [
        f"**{o.status}**, {o.mode} import"
        if checked
        else f"**{o.status}**, before its configuration was checked"
    ]
    if o.products is not None:
        lines.append(f"{o.products} products, {o.images} images")
    if o.warnings:
        total = sum(o.warnings.values())
        lines.append(f"{total} warnings: " + ", ".join(f"{s} {n}" for s, n in o.warnings.items()))
    for error in o.errors[:max_errors]:
        lines.append(f"error: {_one_line(error)}")
    if len(o.errors) > max_errors:
        lines.append(f"... and {len(o.errors) - max_errors} more errors (see the report)")
    for f in o.files:
        size = f"{f.size:,} bytes" if f.size is not None else "size unknown"
        lines.append(f"delivered {f.target}: `{f.remote_dir.rstrip('/')}/{f.name}` ({size})")
    for stage, reason in o.skipped.items():
        lines.append(f"{stage} skipped: {reason}")
    if not o.files and o.status == "success":
        lines.append("no file delivered")
    return "\n\n".join(lines)


def report_html(report: dict[str, Any]) -> str:
    """The run report as a self-contained HTML page (every value escaped)."""
    warnings = report.get("warnings") or []
    return _TEMPLATE.render(
        report=report,
        outline=outline(report),
        warnings=warnings[:MAX_PAGE_WARNINGS],
        more_warnings=max(0, int(report.get("warnings_total") or 0) - min(len(warnings), MAX_PAGE_WARNINGS)),
    )


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>PIM images run {{ report.run.run_id }}: {{ outline.status }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}
.success{color:#1a7f37}.failed{color:#cf222e}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
code{font-size:.9em}
</style></head><body>
<h1>PIM images import <span class="{{ outline.status }}">{{ outline.status }}</span></h1>
<p>Run <code>{{ report.run.run_id }}</code> of <code>{{ report.run.dag_id }}</code>,
data interval {{ report.run.data_interval_start }} to {{ report.run.data_interval_end }};
{{ outline.mode }} import{% if outline.products is not none %}:
{{ outline.products }} products, {{ outline.images }} images{% endif %}.</p>
<h2>Errors ({{ outline.errors|length }})</h2>
{% if outline.errors %}<ul>{% for e in outline.errors %}<li>{{ e }}</li>{% endfor %}</ul>
{% else %}<p>None.</p>{% endif %}
<h2>Delivered files</h2>
{% if outline.files %}<table><tr><th>target</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>
{% for f in outline.files %}<tr><td>{{ f.target }}</td>
<td><code>{{ f.remote_dir.rstrip('/') }}/{{ f.name }}</code></td>
<td>{{ f.size }}</td><td><code>{{ f.sha256 }}</code></td></tr>{% endfor %}</table>
{% else %}<p>None.</p>{% endif %}
<h2>Stages</h2>
<table><tr><th>stage</th><th>status</th><th>warnings</th><th>figures</th></tr>
{% for name, stage in report.stages.items() %}<tr><td>{{ name }}</td>
<td class="{{ stage.status }}">{{ stage.status }}</td><td>{{ stage.warnings_total }}</td>
<td><code>{{ stage.summary|tojson }}</code></td></tr>{% endfor %}</table>
<h2>Warnings ({{ report.warnings_total }})</h2>
{% if warnings %}<ul>{% for w in warnings %}<li>{{ w.stage }}: {{ w.message }}</li>{% endfor %}</ul>
{% endif %}
{% if more_warnings %}<p>{{ more_warnings }} more in report.json.</p>{% endif %}
<h2>Configuration</h2>
<pre>{{ report.configuration|tojson(indent=1) }}</pre>
</body></html>
"""
)


def failure_mail(*, dag_id: str, run_id: str, task_id: str, error: str, report: str) -> tuple[str, str]:
    """The subject and HTML body of a failure alert: which run and task failed, the error as
    raised (it names the offending code or value), and where the run report is.

    :param report: where the run's ``report.html`` is (written when the run ends).
    """
    subject = f"PIM images import failed: {task_id} in run {run_id}"
    return subject, _MAIL.render(dag_id=dag_id, run_id=run_id, task_id=task_id, error=error, report=report)


_MAIL = Environment(autoescape=True).from_string(
    """<p>The task <b>{{ task_id }}</b> of the run <code>{{ run_id }}</code> of <code>{{ dag_id }}</code>
failed after its last try:</p>
<pre>{{ error }}</pre>
<p>The run report, with every error and warning: <code>{{ report }}</code></p>
"""
)
