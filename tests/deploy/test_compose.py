"""docker-compose.yaml cannot run here (no Docker engine): check it against the Compose schema, and
check that every service, file, setting and connection it names exists (README "Running on a
cluster"). ``tests/system`` runs the same cluster shape from Debian's and PyPI's packages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from airflow.configuration import conf
from airflow.models.connection import Connection

from pim_images import targets
from pim_images_airflow.akeneo_hook import KNOWN_EXTRAS, AkeneoHook

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose" / "compose-spec.json"
#: Files of the monitoring profile that the ops dashboard work owns (deploy/): named here once.
MONITORING_FILES = {"deploy/statsd-exporter/mapping.yml", "deploy/grafana/pim-images-dashboard.json"}
_VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: Any) -> Any:
    """Compose's ``${NAME:-default}`` with nothing set: the defaults; ``$$`` is a plain ``$``."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: m.group(2) or "", value).replace("$$", "$")
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


@pytest.fixture(scope="module")
def text() -> str:
    return (ROOT / "docker-compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def environment(compose: dict[str, Any]) -> dict[str, str]:
    """The shared Airflow environment (the ``x-airflow-common`` anchor), defaults filled in."""
    return interpolate(compose["x-airflow-common"]["environment"])


def test_compose_file_matches_compose_spec(compose: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(compose)


def test_compose_schema_rejects_a_broken_file() -> None:
    broken = {"services": {"airflow": {"image": "x", "ports": "8080:8080", "bogus": 1}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(broken)


def test_the_cluster_has_the_official_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    airflow = {
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    }
    assert airflow | {"postgres", "redis", "minio", "staging-bucket"} <= services.keys()
    for name in airflow:
        assert services[name]["image"] == "pim-images:latest", name  # the one project image
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert services["airflow-worker"].get("container_name") is None  # scalable
    assert services["airflow-init"]["build"] == {"context": ".", "target": "runtime"}
    assert services["sandbox"]["profiles"] == ["sandbox"]
    monitoring = ("statsd-exporter", "prometheus", "grafana")
    assert {services[s]["profiles"][0] for s in monitoring} == {"monitoring"}
    # the dependencies of Airflow on its stores wait for them to be healthy
    for name in airflow:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_every_dependency_is_a_service_that_can_satisfy_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert not services[dependency].get("profiles") or service.get("profiles"), (
                f"{name} (every profile) depends on {dependency} of a profile"
            )
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            if how["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") in (None, "no"), dependency


def test_every_file_it_names_exists(compose: dict[str, Any]) -> None:
    named = set()
    for service in compose["services"].values():
        build = service.get("build")
        if build:
            named.add(str(Path(build["context"]) / build.get("dockerfile", "Dockerfile")))
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                named.add(str(Path(source)))
    assert {"Dockerfile"} <= named
    assert named & MONITORING_FILES == MONITORING_FILES  # the ops work's paths, spelt right
    for path in named - MONITORING_FILES:
        assert (ROOT / path).is_file(), f"docker-compose.yaml names {path}, which does not exist"
    stages = re.findall(r"^FROM \S+ AS (\w+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    targets_named = {s["build"]["target"] for s in compose["services"].values() if "build" in s}
    assert targets_named | {compose["x-airflow-common"]["build"]["target"]} <= set(stages)


def test_every_airflow_setting_it_sets_exists(environment: dict[str, str]) -> None:
    settings = [name for name in environment if name.startswith("AIRFLOW__")]
    assert len(settings) > 10
    documented = conf.configuration_description  # Airflow's and its installed providers' options
    for name in settings:
        section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
        options = documented.get(section, {}).get("options", {})
        assert key in options, f"{name}: Airflow has no [{section}] {key}"


def test_every_project_variable_it_sets_is_read(environment: dict[str, str]) -> None:
    code = "\n".join(
        p.read_text() for folder in ("dags", "plugins", "include") for p in (ROOT / folder).rglob("*.py")
    )
    for name in (n for n in environment if n.startswith("PIM_")):
        assert f'"{name}"' in code, f"{name} is set for Airflow but read nowhere"


def test_connections_are_those_the_pipeline_uses(environment: dict[str, str]) -> None:
    connections = {
        name.removeprefix("AIRFLOW_CONN_").lower(): Connection(conn_id=name, uri=value)
        for name, value in environment.items()
        if name.startswith("AIRFLOW_CONN_")
    }
    staging = re.fullmatch(r"s3://(\w+)@([\w.-]+)/.+", environment["PIM_IMAGES_STAGING"])
    assert staging, environment["PIM_IMAGES_STAGING"]
    used = {AkeneoHook.default_conn_name, *(t.connection_id for t in targets.registered()), staging[1]}
    assert connections.keys() == used
    assert connections[AkeneoHook.default_conn_name].conn_type == "http"
    akeneo = connections[AkeneoHook.default_conn_name].extra_dejson
    assert {"client_id", "client_secret"} <= akeneo.keys() <= KNOWN_EXTRAS
    for target in targets.registered():
        assert connections[target.connection_id].conn_type == "sftp"
    store = connections[staging[1]]
    assert store.conn_type == "aws"
    assert store.extra_dejson["endpoint_url"] == "http://minio:9000"
    assert store.login and store.password


def test_every_compose_variable_is_documented(text: str) -> None:
    header = text.split("\nname:", 1)[0]
    for name in set(_VARIABLE.findall(text)):
        assert name[0] in header, f"${{{name[0]}}} is not listed in docker-compose.yaml's header"
