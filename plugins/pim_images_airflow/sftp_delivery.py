"""SFTP side of delivery: the core's ``RemoteFiles`` verbs over the SFTP provider's hook.

``SFTPHook`` is used unchanged: one managed connection per delivery, ``store_file`` with
``confirm=True`` (paramiko re-checks the size after the upload). Folders are made through the
paramiko client (the hook's ``create_directory`` fails when another run makes the folder between
its look and its ``mkdir``). The hook has no rename verb,
so the rename goes through the paramiko client the managed connection yields, with
``posix_rename``: plain SFTP ``rename`` refuses to replace an existing file, and a re-run must
replace the file it delivered before.

Every failure is a :class:`~pim_images.deliver.DeliveryError` naming the server (connection
id, user, host and port), the verb and the remote path. Host keys are always checked: a
connection with ``no_host_key_check`` is refused unless it also sets the extra
``allow_no_host_key_check: true`` (docs/delivery.md#sftp-connections).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.sftp.hooks.sftp import SFTPHook
from paramiko import AuthenticationException, BadHostKeyException, SSHException

from pim_images.deliver import DeliveryError, DeliveryRefused

if TYPE_CHECKING:
    from paramiko import SFTPClient


#: The connection extra that alone lets ``no_host_key_check`` through (a test rig, never a drop).
ALLOW_NO_HOST_KEY_CHECK = "allow_no_host_key_check"
#: What a dropped or refusing SFTP server raises through paramiko.
_SFTP_ERRORS = (OSError, SSHException, EOFError)


class SFTPRemoteFiles:
    """:class:`pim_images.deliver.RemoteFiles` over an open SFTP connection.

    :param where: the server as error messages name it, e.g.
        ``sftp://pim@host:22 (connection 'sfcc_sftp')``.
    """

    def __init__(self, hook: SFTPHook, client: SFTPClient, where: str = "SFTP server") -> None:
        self._hook = hook
        self._client = client
        self._where = where

    def makedirs(self, path: str) -> None:
        """Create ``path`` and its missing parents. Another run delivering at once may create
        any of them between our look and our ``mkdir``: a folder found made is no failure
        (``SFTPHook.create_directory`` fails on it, "File exists")."""
        with self._naming("create folder", path):
            if self._is_dir(path):
                return
            parent = posixpath.dirname(path.rstrip("/"))
            if parent and parent != path:
                self.makedirs(parent)
            try:
                self._client.mkdir(path)
            except OSError:
                if not self._is_dir(path):  # a file there, or a refusal: the mkdir's error stands
                    raise

    def _is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(self._client.stat(path).st_mode or 0)
        except FileNotFoundError:
            return False

    def upload(self, local: Any, remote: str) -> None:
        with self._naming("upload", remote), _local_file(local) as path:
            self._hook.store_file(remote, str(path), confirm=True)

    def size(self, remote: str) -> int:
        with self._naming("stat", remote):
            attrs = self._client.stat(remote)
        if attrs.st_mode is not None and not stat.S_ISREG(attrs.st_mode):
            raise DeliveryError(f"{self._where}: {remote} is not a regular file")
        return int(attrs.st_size or 0)

    def rename(self, source: str, target: str) -> None:
        with self._naming("rename", f"{source} -> {target}"):
            self._client.posix_rename(source, target)

    def remove(self, remote: str) -> None:
        with self._naming("remove", remote):
            self._client.remove(remote)

    @contextmanager
    def _naming(self, verb: str, path: str) -> Iterator[None]:
        try:
            yield
        except _SFTP_ERRORS as exc:
            detail = str(exc) or type(exc).__name__
            raise DeliveryError(f"{self._where}: {verb} {path} failed: {detail}") from exc


@contextmanager
def open_remote_files(sftp_conn_id: str) -> Iterator[SFTPRemoteFiles]:
    """One managed SFTP connection for a whole delivery.

    :raises DeliveryError: the connection turns host-key checking off without
        ``allow_no_host_key_check``, or the server cannot be reached; naming the server.
    """
    hook = SFTPHook(ssh_conn_id=sftp_conn_id)
    where = f"sftp://{hook.username}@{hook.remote_host}:{hook.port} (connection {sftp_conn_id!r})"
    if hook.no_host_key_check and not _allows_no_host_key_check(hook):
        raise DeliveryRefused(
            [
                f"{where}: no_host_key_check is set, and host keys are always checked: pin the server's "
                f"key in the host_key extra (for a test rig only: the extra {ALLOW_NO_HOST_KEY_CHECK}: true)"
            ]
        )
    with ExitStack() as stack:
        try:
            client = stack.enter_context(hook.get_managed_conn())
        except (BadHostKeyException, AuthenticationException) as exc:
            # a swapped server, someone in between, or refused credentials: not a passing fault
            raise DeliveryRefused([f"{where}: {exc or type(exc).__name__}"]) from exc
        except _SFTP_ERRORS as exc:
            raise DeliveryError(f"{where}: cannot connect: {exc or type(exc).__name__}") from exc
        yield SFTPRemoteFiles(hook, client, where)


def _allows_no_host_key_check(hook: SFTPHook) -> bool:
    extra = hook.get_connection(hook.ssh_conn_id).extra_dejson
    return str(extra.get(ALLOW_NO_HOST_KEY_CHECK, "")).lower() == "true"


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
