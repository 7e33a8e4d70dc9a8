"""The sandbox's fixed credentials: demo, tests and printed connections all use these."""

from __future__ import annotations

AKENEO_CLIENT_ID = "sandbox-client"
AKENEO_CLIENT_SECRET = "sandbox-secret"
AKENEO_USER = "admin"
AKENEO_PASSWORD = "admin"
SFTP_USER = "pim"
SFTP_PASSWORD = "pim"
