"""docker-compose.yaml cannot run here (no Docker engine): check it against the Compose schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_matches_compose_spec() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "compose" / "compose-spec.json").read_text())
    document = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    assert {"airflow", "sandbox"} <= set(document["services"])
    env = document["services"]["airflow"]["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/dags")


def test_compose_schema_rejects_a_broken_file() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "compose" / "compose-spec.json").read_text())
    broken = {"services": {"airflow": {"image": "x", "ports": "8080:8080", "bogus": 1}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)
