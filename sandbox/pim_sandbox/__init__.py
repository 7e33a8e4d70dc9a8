"""Sandbox servers for demo, tests and benchmarks: an Akeneo-like REST API and an SFTP server."""
