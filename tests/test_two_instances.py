"""Two app servers, each from its own directory, on one database and one bucket.

This is the failure the project exists to end: with SQLite and media/ on each server, a photo
uploaded through one server showed broken on the other.
"""

import io
import json
import re
import subprocess
import sys

import pytest
import requests
from PIL import Image

from tests import imagefactory
from tests.servers import ROOT, Browser, clean_environ, gunicorn, production_secrets, project_copy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def servers(tmp_path, s3_secrets, bucket):
    secrets = production_secrets(s3_secrets)
    first = project_copy(tmp_path / "server-a")
    second = project_copy(tmp_path / "server-b")
    with gunicorn(first, secrets) as a, gunicorn(second, secrets) as b:
        yield a, b


def test_a_member_and_photo_made_on_one_server_show_on_the_other(servers, bucket):
    a, b = servers
    alice = Browser(a)
    response = alice.sign_up("alice", "through-the-looking-glass")
    assert response.status_code == 200 and response.url.endswith("/accounts/edit/")
    photo = imagefactory.jpeg(1200, 900, gps=True)
    response = alice.submit(
        "/accounts/edit/",
        {"username": "alice", "email": "alice@example.com", "full_name": "Alice"},
        files={"photo": ("me.jpg", photo, "image/jpeg")},
    )
    assert response.url.endswith("/alice/")
    [key] = bucket.keys()
    assert key.startswith("media/avatars/")

    # Someone else, on the other server, sees Alice and her photo.
    page = Browser(b).page("/alice/").text
    src = re.search(r'<img class="avatar"[^>]* src="([^"]+)"', page).group(1).replace("&amp;", "&")
    image = requests.get(src, timeout=10)
    assert image.status_code == 200
    assert image.content == bucket.get(key)["Body"].read()
    assert Image.open(io.BytesIO(image.content)).size == (320, 320)

    # Alice's session, made on the first server, is valid on the second.
    alice.base = b
    assert "Edit profile" in alice.page("/accounts/edit/").text


def test_the_cache_is_shared_by_every_process(tmp_path, s3_secrets):
    from django.core.cache import cache

    cache.set("greeting", "hello from the first process", 60)
    secrets = production_secrets(s3_secrets)
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    read = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "from django.core.cache import cache; print(cache.get('greeting'))"],
        cwd=ROOT, env=clean_environ(DJANGO_SECRETS_FILE=str(tmp_path / "secrets.json")),
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert read.stdout.strip() == "hello from the first process"
