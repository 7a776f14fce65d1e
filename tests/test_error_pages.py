"""When something breaks: a friendly page, and no secret in the page or the logs."""

import logging

import pytest
from django.conf import settings
from django.test import Client

from posts import selectors

pytestmark = pytest.mark.django_db


def test_an_unexpected_error_shows_the_friendly_page_without_secrets(owner, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("the feed query exploded")

    monkeypatch.setattr(selectors, "post_feed", broken)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    with caplog.at_level(logging.ERROR):
        response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "exploded" not in page and "Traceback" not in page
    media = settings.STORAGES["default"]["OPTIONS"]
    secrets = [settings.SECRET_KEY, media["secret_key"], settings.DATABASES["default"]["PASSWORD"]]
    logged = caplog.text
    assert "Internal Server Error: /" in logged
    for secret in filter(None, secrets):
        assert secret not in page and secret not in logged
