"""SFTP side of delivery: the core's ``RemoteFiles`` verbs over the SFTP provider's hook.

``SFTPHook`` is used unchanged: one managed connection per delivery, ``store_file`` with
``confirm=True`` (paramiko re-checks the size after the upload). The hook has no rename verb,
so the rename goes through the paramiko client the managed connection yields, with
``posix_rename``: plain SFTP ``rename`` refuses to replace an existing file, and a re-run must
replace the file it delivered before.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.sftp.hooks.sftp import SFTPHook

if TYPE_CHECKING:
    from paramiko import SFTPClient


class SFTPRemoteFiles:
    """:class:`pim_images.deliver.RemoteFiles` over an open SFTP connection."""

    def __init__(self, hook: SFTPHook, client: SFTPClient) -> None:
        self._hook = hook
        self._client = client

    def makedirs(self, path: str) -> None:
        self._hook.create_directory(path)

    def upload(self, local: Any, remote: str) -> None:
        with _local_file(local) as path:
            self._hook.store_file(remote, str(path), confirm=True)

    def size(self, remote: str) -> int:
        attrs = self._client.stat(remote)
        if attrs.st_mode is not None and not stat.S_ISREG(attrs.st_mode):
            raise OSError(f"{remote} is not a regular file")
        return int(attrs.st_size or 0)

    def rename(self, source: str, target: str) -> None:
        self._client.posix_rename(source, target)

    def remove(self, remote: str) -> None:
        self._client.remove(remote)


@contextmanager
def open_remote_files(sftp_conn_id: str) -> Iterator[SFTPRemoteFiles]:
    """One managed SFTP connection for a whole delivery."""
    hook = SFTPHook(ssh_conn_id=sftp_conn_id)
    with hook.get_managed_conn() as client:
        yield SFTPRemoteFiles(hook, client)


@contextmanager
def _local_file(path: Any) -> Iterator[Path]:
    """A local file path for ``store_file``: the staging file itself when it is on local disk,
    else a temporary copy (staging in a bucket, on a cluster)."""
    protocol = getattr(path, "protocol", "file")
    if isinstance(path, Path) or protocol in ("file", "local", ""):
        yield Path(getattr(path, "path", str(path)))
        return
    fd, name = tempfile.mkstemp(prefix="pim-images-")
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            shutil.copyfileobj(src, out)
        yield Path(name)
    finally:
        os.unlink(name)
