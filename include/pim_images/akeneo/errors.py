"""Errors raised by the Akeneo client, each naming the endpoint and what Akeneo said, and the
error of a connection that cannot make a client."""

from __future__ import annotations

from pim_images.errors import InputError


class AkeneoError(RuntimeError):
    """Akeneo answered with an error status, or a response lacks what the client needs.

    :param status: the HTTP status (``None`` when the transport failed or a key is missing).
    :param endpoint: method and path of the call, without query secrets.
    :param message: Akeneo's own ``message`` when it sent one (responses.md).
    """

    def __init__(self, endpoint: str, message: str, status: int | None = None) -> None:
        self.status = status
        self.endpoint = endpoint
        self.message = message
        where = f"{endpoint} answered {status}" if status is not None else endpoint
        super().__init__(f"Akeneo {where}: {message}")


class AkeneoAuthError(AkeneoError):
    """401/403: bad credentials or a missing permission; retrying will not help."""


class AkeneoNotFoundError(AkeneoError):
    """404: the resource or the endpoint does not exist on this PIM."""


class AkeneoConnectionError(InputError):
    """The Akeneo connection (URL, API user, OAuth client, knobs) is missing or bad fields.

    An input error: a retry would read the same connection, so the DAG fails the task at once.
    ``problems`` names the connection id and each bad or missing field.
    """

    title = "invalid Akeneo connection"


class AkeneoOriginError(AkeneoError):
    """A request outside the PIM's API (another scheme, host, port or a path outside ``/api/``),
    refused before it was sent: a server-supplied link or redirect must not take the token
    elsewhere (docs/akeneo.md#the-pims-origin-only). Not retried."""


class AkeneoMediaError(AkeneoError):
    """A download answered with something that is not the media file (an HTML or JSON page
    with 200), or a file over the size limit: this answer is refused, nothing is cached, and
    the next run asks again (docs/akeneo.md#verified-downloads)."""
