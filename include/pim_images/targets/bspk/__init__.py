"""BSPK: the PRODUCT-IMAGES V2 CSV, dropped on ``bspk_sftp`` (docs/bspk.md)."""

from __future__ import annotations

from pim_images.config import PipelineConfig
from pim_images.media import MediaCache
from pim_images.staging import StagingPath
from pim_images.targets import RenderSummary, Target
from pim_images.targets.bspk.render import render_bspk


def _render(config: PipelineConfig, run_dir: StagingPath, cache: MediaCache, stamp: str) -> RenderSummary:
    return render_bspk(config, run_dir, stamp)  # links and URLs only: no binary is read


def _remote_dir(config: PipelineConfig) -> str:
    return config.bspkRemoteDir


TARGET = Target(
    name="bspk",
    title="BSPK",
    connection_id="bspk_sftp",
    render=_render,
    remote_dir=_remote_dir,
)
