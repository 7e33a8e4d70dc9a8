"""Deliver stage: put files on an SFTP drop so that a consumer never sees a partial file.

Each file is uploaded under a hidden temporary name, its size checked against the local
file, and only then renamed to its final name (an atomic replace on the server). All files of
one delivery are uploaded and verified before the first rename, so a failure part-way leaves
no final file of that delivery half-written (docs/delivery.md#atomic-upload). Final names come from the
run, so a retry or a backfill replaces the same files instead of adding copies.

Temporary names carry the run's token, not the try's: every try of a run first removes what an
earlier try of the same run may have left (a cut connection, a killed worker), and a refused
rename removes the temporaries not yet renamed; the next try renames the whole set again
(docs/delivery.md#what-a-consumer-sees).

The remote side is a tiny interface (:class:`RemoteFiles`); the Airflow edge implements it
over the SFTP provider's hook.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pim_images.errors import InputError
from pim_images.report import StageSummary
from pim_images.staging import StagingPath


class RemoteFiles(Protocol):
    """The verbs delivery needs of a remote file server."""

    def makedirs(self, path: str) -> None: ...
    def upload(self, local: StagingPath, remote: str) -> None: ...
    def size(self, remote: str) -> int: ...
    def rename(self, source: str, target: str) -> None:
        """Replace ``target`` atomically (SFTP's ``posix-rename@openssh.com``)."""
        ...

    def remove(self, remote: str) -> None: ...


class DeliveryError(RuntimeError):
    """A file could not be delivered whole; names the server, the file and the remote path."""


class DeliveryRefused(DeliveryError, InputError):
    """The drop refused us for good: its host key is not the pinned one (a server swapped, or
    someone in between), it refused the credentials, or host-key checking was turned off. A
    retry would meet the same answer, so the run fails at once (docs/delivery.md#sftp-connections).
    """

    title = "the SFTP drop refused the delivery"

    def __init__(self, problems: list[str]) -> None:
        InputError.__init__(self, problems)


@dataclass(frozen=True)
class DeliverySummary(StageSummary):
    target: str
    remote_dir: str
    files: list[str]
    bytes: int
    #: file name -> size in bytes, as checked on the server
    sizes: dict[str, int] = field(default_factory=dict)
    #: file name -> SHA-256 of its bytes (hex), so a consumer can check what it received
    sha256: dict[str, str] = field(default_factory=dict)


#: Run types whose stamp is their data interval's end (Airflow's ``DagRunType`` values): each try,
#: clear or re-run of an interval replaces its own files.
INTERVAL_RUN_TYPES = frozenset({"scheduled", "backfill"})


def file_stamp(run_type: str, interval_end: datetime | None, run_after: datetime) -> str:
    """The run's time in delivered file names (docs/delivery.md#idempotent-names), the same for
    every try of the run.

    A scheduled or backfilled run is named by its data interval's end, ``YYYYMMDDTHHMMSSZ``: a
    retry or a clear replaces its own files. Any other run (manual, asset-triggered) by its own
    time, ``run_after`` to the microsecond, ``YYYYMMDDTHHMMSSffffffZ``: two manual runs never share
    a name, even when Airflow gives them one data interval.

    >>> from datetime import UTC, datetime
    >>> file_stamp("scheduled", datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC))
    '20260302T000000Z'
    >>> file_stamp("manual", None, datetime(2026, 3, 2, 9, 15, 30, 250000, tzinfo=UTC))
    '20260302T091530250000Z'
    """
    if run_type in INTERVAL_RUN_TYPES and interval_end is not None:
        return interval_end.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return run_after.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def temporary_name(remote_dir: str, name: str, token: str) -> str:
    """Hidden (consumers polling for ``*.csv`` or ``*.zip`` skip it) and the same for every try
    of one run (``token``), so a later try finds and removes an earlier try's leftover."""
    return posixpath.join(remote_dir, f".{name}.{token}.part")


def deliver_files(
    remote: RemoteFiles, target: str, local_dir: StagingPath, names: list[str], remote_dir: str, token: str
) -> DeliverySummary:
    """Upload ``names`` from ``local_dir`` to ``remote_dir``: temporary name, verify size, rename,
    in the order of ``names`` (docs/delivery.md#what-a-consumer-sees).

    :param token: the run's token, the same for every try of the run (e.g. the run id
        reduced to letters and digits): a try removes the leftovers of earlier tries.
    :raises DeliveryError: a size mismatch, a transfer failure or a refused rename; the
        temporary files not yet renamed are removed when the connection still allows it.
    """
    remote.makedirs(remote_dir)
    staged = [(temporary_name(remote_dir, name, token), posixpath.join(remote_dir, name)) for name in names]
    for temporary, _ in staged:  # an earlier try's leftovers (a cut connection, a killed worker)
        _remove_quietly(remote, temporary)
    sizes: dict[str, int] = {}
    checksums: dict[str, str] = {}
    renamed = 0
    try:
        for name, (temporary, _) in zip(names, staged, strict=True):
            local = local_dir / name
            expected = local.stat().st_size
            remote.upload(local, temporary)
            actual = remote.size(temporary)
            if actual != expected:
                raise DeliveryError(
                    f"{target}: {temporary} has {actual} bytes on the server, {name} has {expected}"
                )
            sizes[name] = expected
            checksums[name] = _sha256(local)
        for temporary, final in staged:
            remote.rename(temporary, final)
            renamed += 1
    except Exception:
        for temporary, _ in staged[renamed:]:
            _remove_quietly(remote, temporary)
        raise
    return DeliverySummary(
        target=target,
        remote_dir=remote_dir,
        files=list(names),
        bytes=sum(sizes.values()),
        sizes=sizes,
        sha256=checksums,
    )


def _sha256(path: StagingPath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_quietly(remote: RemoteFiles, path: str) -> None:
    try:
        remote.remove(path)
    except Exception:
        pass  # never uploaded, or the connection is gone: the original error is what matters
