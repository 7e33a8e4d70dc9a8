"""The system tests' servers come from Debian's packages: a missing one fails, naming the install."""

from __future__ import annotations

import pytest
from services import MissingService, find_binary


def test_a_missing_server_fails_with_its_install_command() -> None:
    with pytest.raises(MissingService, match=r"`apt-get install -y redis-server`"):
        find_binary("pim-images-no-such-server", "redis-server", "/nonexistent/*/bin")
