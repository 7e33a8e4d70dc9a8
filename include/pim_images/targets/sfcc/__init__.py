"""Salesforce B2C Commerce: a catalog XML of image groups, its metadata XML and a site-import
archive, dropped on ``sfcc_sftp`` (docs/sfcc.md)."""

from __future__ import annotations

from pim_images.config import PipelineConfig
from pim_images.targets import Target
from pim_images.targets.sfcc.render import render_sfcc


def _remote_dir(config: PipelineConfig) -> str:
    return config.sfccRemoteDir


TARGET = Target(
    name="sfcc",
    title="Salesforce B2C Commerce",
    connection_id="sfcc_sftp",
    render=render_sfcc,
    remote_dir=_remote_dir,
)
