"""Airflow edge of the PIM images pipeline: Akeneo hook and SFTP delivery adapter."""
