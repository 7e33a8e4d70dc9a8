"""The Akeneo hook reads an ``http`` connection as ``HttpHook`` does, and refuses what it cannot use."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pim_images.akeneo.errors import AkeneoConnectionError
from pim_images.errors import InputError
from pim_images_airflow.akeneo_hook import AkeneoHook
from pim_sandbox.catalog import generate_catalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

EXTRA = {"client_id": AKENEO_CLIENT_ID, "client_secret": AKENEO_CLIENT_SECRET}


def _set_conn(monkeypatch: pytest.MonkeyPatch, **conn: object) -> None:
    body = {"conn_type": "http", "login": AKENEO_USER, "password": AKENEO_PASSWORD, "extra": EXTRA, **conn}
    monkeypatch.setenv("AIRFLOW_CONN_AKENEO_TEST", json.dumps(body))


@pytest.mark.parametrize(
    ("conn", "base_url"),
    [
        ({"host": "https://pim.example.com/"}, "https://pim.example.com"),
        ({"host": "pim.example.com", "schema": "https"}, "https://pim.example.com"),
        ({"host": "pim.example.com", "port": 8443, "schema": "https"}, "https://pim.example.com:8443"),
        (
            {"host": "pim.example.com", "extra": {**EXTRA, "allow_insecure_http": True}},
            "http://pim.example.com",
        ),
        ({"host": "127.0.0.1", "port": 8081}, "http://127.0.0.1:8081"),
    ],
)
def test_base_url_follows_httphook(monkeypatch: pytest.MonkeyPatch, conn: dict, base_url: str) -> None:
    _set_conn(monkeypatch, **conn)
    with AkeneoHook("akeneo_test").get_conn() as client:
        assert client.base_url == base_url


def test_unknown_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, host="https://pim", extra={**EXTRA, "client_secert": "typo"})
    with pytest.raises(AkeneoConnectionError) as err:
        AkeneoHook("akeneo_test").get_conn()
    assert err.value.problems == [
        "connection 'akeneo_test': unknown extra 'client_secert' "
        "(known: allow_insecure_http, client_id, client_secret, max_attempts, timeout)"
    ]


@pytest.mark.parametrize("conn", [{"host": "pim.example.com"}, {"host": "http://pim.example.com:8080"}])
def test_plain_http_to_another_host_is_refused_naming_the_way_out(
    monkeypatch: pytest.MonkeyPatch, conn: dict
) -> None:
    """The password, the client secret and the tokens would cross the network in clear."""
    _set_conn(monkeypatch, **conn)
    with pytest.raises(AkeneoConnectionError) as err:
        AkeneoHook("akeneo_test").get_conn()
    (problem,) = err.value.problems
    assert "is plain http" in problem and "allow_insecure_http" in problem and "https" in problem


@pytest.mark.parametrize(
    ("conn", "missing"),
    [
        ({"host": "https://pim", "extra": {"client_id": "x"}}, ["client_secret"]),
        ({"host": "https://pim", "extra": {}}, ["client_id", "client_secret"]),
        ({"host": "https://pim", "login": None}, ["login"]),
        ({"password": ""}, ["host", "password"]),
    ],
)
def test_missing_fields_are_each_named(
    monkeypatch: pytest.MonkeyPatch, conn: dict, missing: list[str]
) -> None:
    _set_conn(monkeypatch, **conn)
    with pytest.raises(AkeneoConnectionError) as err:
        AkeneoHook("akeneo_test").get_conn()
    assert [p.split(": missing ")[1].split(" (")[0] for p in err.value.problems] == missing
    assert all(p.startswith("connection 'akeneo_test': missing ") for p in err.value.problems)
    assert str(err.value).startswith("invalid Akeneo connection:")


def test_a_bad_knob_is_named_with_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, host="https://pim", extra={**EXTRA, "max_attempts": "many", "timeout": 0})
    with pytest.raises(AkeneoConnectionError) as err:
        AkeneoHook("akeneo_test").get_conn()
    assert err.value.problems == [
        "connection 'akeneo_test': extra 'timeout' must be a positive float, got 0",
        "connection 'akeneo_test': extra 'max_attempts' must be a positive int, got 'many'",
    ]


def test_a_bad_connection_is_an_input_error_the_dag_does_not_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, host="https://pim", extra={})
    with pytest.raises(InputError):
        AkeneoHook("akeneo_test").get_conn()
    ok, message = AkeneoHook("akeneo_test").test_connection()
    assert not ok and message.startswith("invalid Akeneo connection:") and "missing client_id" in message


def test_constructor_does_no_io() -> None:
    hook = AkeneoHook("a_connection_that_does_not_exist")
    assert hook.akeneo_conn_id == "a_connection_that_does_not_exist"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app(generate_catalog(products=5))
    with serve_in_thread(app) as url:
        yield url


def test_test_connection_against_the_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox_url: str) -> None:
    _set_conn(monkeypatch, host=sandbox_url)
    assert AkeneoHook("akeneo_test").test_connection() == (True, "Connection successfully tested")
    _set_conn(monkeypatch, host=sandbox_url, password="wrong")
    ok, message = AkeneoHook("akeneo_test").test_connection()
    assert not ok and "POST /api/oauth/v1/token answered" in message
