"""What a browser is told about security: CSP, cookies, HTTPS, framing, referrers."""

import re

import pytest
import requests

from tests import factories
from tests.servers import gunicorn, production_secrets, project_copy

pytestmark = pytest.mark.django_db


def test_pages_allow_scripts_and_styles_only_from_the_site_and_photos_from_the_bucket(
    client, s3_endpoint
):
    response = client.get("/accounts/login/")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == f"'self' data: blob: {s3_endpoint}"
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_the_site_has_no_inline_scripts_or_styles(client, owner):
    client.force_login(owner)
    for url in ["/", "/olivia/", "/posts/new/", "/accounts/edit/", "/explore/"]:
        page = client.get(url).content.decode()
        assert "<script>" not in page and " style=" not in page and "<style" not in page, url


@pytest.fixture
def https_site(tmp_path, s3_secrets, bucket):
    """The app behind a load balancer that terminates HTTPS, with production's defaults."""
    secrets = production_secrets(s3_secrets)
    for key in [
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ]:
        secrets.pop(key)
    secrets["SECURE_PROXY_SSL_HEADER"] = ["HTTP_X_FORWARDED_PROTO", "https"]
    with gunicorn(project_copy(tmp_path / "app"), secrets) as url:
        yield url


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_production_redirects_to_https_and_sends_hsts_and_safe_cookies(https_site):
    factories.server_user(username="olivia")
    plain = requests.get(https_site + "/accounts/login/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    # The load balancer's health check comes over plain HTTP, by address: it is answered.
    assert requests.get(https_site + "/healthz", timeout=10).status_code == 200

    # As the load balancer forwards it: HTTPS outside, plain HTTP to the instance.
    https = {"X-Forwarded-Proto": "https"}
    page = requests.get(https_site + "/accounts/login/", headers=https, timeout=10)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    login = requests.post(
        https_site + "/accounts/login/",
        data={"username": "olivia", "password": factories.PASSWORD, "csrfmiddlewaretoken": token},
        headers={
            **https,
            "Referer": https_site.replace("http://", "https://") + "/accounts/login/",
            "Cookie": f"csrftoken={page.cookies['csrftoken']}",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 302
    for response, name in [(page, "csrftoken"), (login, "sessionid")]:
        [cookie] = [cookie for cookie in response.cookies if cookie.name == name]
        assert cookie.secure, name
        assert cookie.has_nonstandard_attr("HttpOnly"), name
