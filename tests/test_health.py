"""/healthz: what a load balancer sees when the database or the bucket is down."""

import pytest
from django.db import OperationalError
from django.test import override_settings

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_bucket_answer(client, bucket):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "storage": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_healthz_answers_a_load_balancer_calling_by_ip_over_http(client):
    response = client.get("/healthz", HTTP_HOST="10.0.3.17", secure=False)
    assert response.status_code == 200


def test_a_missing_bucket_makes_healthz_fail_naming_the_storage(client, settings):
    media = settings.STORAGES["default"]
    missing = {**media, "OPTIONS": {**media["OPTIONS"], "bucket_name": "no-such-bucket"}}
    with override_settings(STORAGES={**settings.STORAGES, "default": missing}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "storage": "failed: NoSuchBucket"}


def test_a_database_outage_makes_healthz_fail_naming_the_database(client, monkeypatch):
    def down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "database_check", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failed: OperationalError"
