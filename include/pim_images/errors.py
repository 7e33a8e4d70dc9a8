"""Errors about the pipeline's input: the configuration or the Akeneo catalog.

They carry every problem found, not just the first, each naming the code or value at fault
(docs/bad-input.md), so a user fixes a configuration or catalog in one go. The Airflow edge turns them
into failures that are not retried: the same input would fail the same way.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input; ``problems`` lists each offending code or value and the rule it broke."""

    title = "invalid input"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{self.title}:\n" + "\n".join(f"  - {p}" for p in self.problems))


class ConfigError(InputError):
    """The configuration (YAML file and DAG params) breaks a rule of docs/configuration.md."""

    title = "invalid configuration"


class CatalogError(InputError):
    """The Akeneo catalog breaks a rule the pipeline needs (docs/bad-input.md#catalog-errors)."""

    title = "the Akeneo catalog cannot be imported"


class OutputError(InputError):
    """A file a target would receive breaks that target's schema (docs/bad-input.md#schema-validation):
    it is not delivered. The same input would write the same file, so it is not retried."""

    title = "a file for delivery does not validate; nothing was delivered"


class FailedProductsError(InputError):
    """Too many products were left out because an image failed (docs/bad-input.md#broken-images):
    the run fails rather than deliver a catalog with that many products missing."""

    title = "too many products left out"
