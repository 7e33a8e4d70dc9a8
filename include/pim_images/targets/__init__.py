"""Delivery targets behind one registry (docs/architecture.md#targets-as-packages-behind-a-registry).

A target is a package (``targets/sfcc``, ``targets/bspk``) that owns everything about one
consumer: its formats, limits and id rules, its renderer (neutral ``images.jsonl`` in, the files
it delivers out, under ``runs/<run id>/<target name>/``), its output names, the Airflow
connection its drop is reached through, and where on that drop files go. The DAG builds one
render and one deliver task per registered target by looping over :func:`registered`; the
neutral stages (extract, media, transform) know no target.

Adding a target is one package exporting a :class:`Target` and one line in :data:`BUILTIN`
(or a call to :func:`register`, as the tests do).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pim_images.config import PipelineConfig
    from pim_images.media import MediaCache
    from pim_images.staging import StagingPath

#: The built-in targets, one module each, in the order their tasks appear.
BUILTIN = (
    "pim_images.targets.sfcc",
    "pim_images.targets.bspk",
)


class RenderSummary(Protocol):
    """What a renderer returns: the names of the files to deliver, and its warnings."""

    files: list[str]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]: ...


#: ``render(config, run_dir, media_cache, stamp)``: writes the target's files under
#: ``target_dir(run_dir, name)`` and returns their names; ``stamp`` is the run's time stamp,
#: ``YYYYMMDDTHHMMSSZ``, part of every file name (same run, same names).
Renderer = Callable[["PipelineConfig", "StagingPath", "MediaCache", str], RenderSummary]


@dataclass(frozen=True)
class Target:
    """One delivery target.

    :ivar name: short id (``sfcc``): the ``targets`` parameter's value, the task ids
        ``render_<name>`` and ``deliver_<name>``, the staging folder of its files.
    :ivar title: for people (task docs, reports).
    :ivar connection_id: the Airflow SFTP connection of its drop.
    :ivar render: its renderer (see :data:`Renderer`).
    :ivar remote_dir: the folder on the drop, from the run's configuration.
    """

    name: str
    title: str
    connection_id: str
    render: Renderer
    remote_dir: Callable[[PipelineConfig], str]

    @property
    def asset_uri(self) -> str:
        """The Airflow asset its deliveries update."""
        return f"pim-images-{self.name}-delivery"


_registry: dict[str, Target] = {}
_loaded = False
_loading = False
#: held while the built-in targets load: a thread asking meanwhile waits for all of them, never
#: sees a half-filled registry (two runs of the stages in one process)
_load_lock = threading.RLock()


def _load_builtin() -> None:
    global _loaded, _loading
    if _loaded:
        return
    with _load_lock:
        if _loaded or _loading:  # loaded meanwhile, or a built-in module asking while it loads
            return
        _loading = True
        try:
            for module in BUILTIN:
                _add(importlib.import_module(module).TARGET)
            _loaded = True
        finally:
            _loading = False


def register(target: Target) -> Target:
    """Add a target after the built-in ones (or replace one of the same name); returns it.

    :raises ValueError: the name is not a lower-case identifier.
    """
    _load_builtin()
    return _add(target)


def _add(target: Target) -> Target:
    if not target.name.isidentifier() or not target.name.islower():
        raise ValueError(f"target name {target.name!r} must be a lower-case identifier")
    with _load_lock:
        _registry[target.name] = target
    return target


def unregister(name: str) -> None:
    """Remove a target (tests that registered one clean up after themselves)."""
    _registry.pop(name, None)


def registered() -> tuple[Target, ...]:
    """Every registered target: the built-in ones first, in :data:`BUILTIN` order."""
    _load_builtin()
    return tuple(_registry.values())


def names() -> tuple[str, ...]:
    """The names of every registered target (the ``targets`` parameter's values)."""
    return tuple(t.name for t in registered())


def get(name: str) -> Target:
    """:raises KeyError: no target of that name."""
    for target in registered():
        if target.name == name:
            return target
    raise KeyError(f"no delivery target {name!r} (known: {', '.join(names())})")
