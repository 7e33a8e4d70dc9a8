"""The project's monitoring files as ops deploy them (deploy/): the statsd-exporter mapping
applied to StatsD names as the exporter applies it, and the metrics the Grafana dashboard
queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "deploy" / "statsd-exporter" / "mapping.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "pim-images-dashboard.json"


def mapping() -> list[dict[str, Any]]:
    return yaml.safe_load(MAPPING.read_text())["mappings"]


def mapped(name: str, mappings: list[dict[str, Any]]) -> tuple[str, dict[str, str], str] | None:
    """What the exporter makes of the StatsD name ``name``: the Prometheus name, its labels and
    its observer type, by the first glob mapping that matches (``*`` is one dotted component,
    ``$n``/``${n}`` its text); ``None`` when none does (the exporter's default naming)."""
    for m in mappings:
        assert m.get("match_type", "glob") == "glob", m
        parts = m["match"].split(".")
        pattern = r"\.".join("([^.]+)" if p == "*" else re.escape(p) for p in parts)
        hit = re.fullmatch(pattern, name)
        if hit:

            def fill(text: str, hit: re.Match[str] = hit) -> str:
                return re.sub(r"\$\{?(\d+)\}?", lambda g: hit.group(int(g.group(1))), text)

            labels = {k: fill(v) for k, v in (m.get("labels") or {}).items()}
            return fill(m["name"]), labels, m.get("observer_type", "")
    return None


def series(names: Iterable[str], mappings: list[dict[str, Any]]) -> set[str]:
    """The Prometheus metric names the exporter exposes for these StatsD names (a histogram as
    its ``_bucket``, ``_sum`` and ``_count``)."""
    found: set[str] = set()
    for name in names:
        result = mapped(name, mappings)
        if result is None:
            continue
        metric, _, observer = result
        if observer == "histogram":
            found |= {metric + "_bucket", metric + "_sum", metric + "_count"}
        elif observer == "summary":
            found |= {metric, metric + "_sum", metric + "_count"}
        else:
            found.add(metric)
    return found


def dashboard_metrics() -> set[str]:
    """Every ``pim_images_*`` metric named in the dashboard's queries."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return {m for expr in exprs for m in re.findall(r"\bpim_images_[a-z0-9_]+", expr)}
