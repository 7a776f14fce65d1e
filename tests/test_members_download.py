"""Taking your photos: /accounts/download/ streams a zip of every stored photo and a JSON of
the member's data, once an hour."""

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from members import export
from members import services as member_services
from posts.forms import Photo
from posts.images import avatar_rendition
from posts.models import Post, PostImage
from posts.services import post_create
from tests import factories, imagefactory
from tests.conftest import media_through
from tests.test_faults import QUICK
from tests.test_media import with_photos

pytestmark = pytest.mark.django_db


@pytest.fixture
def olivia(owner, follower, outsider, bucket):
    """Olivia with a profile photo and a post of two photos with alt text; Felix follows her,
    she follows Oscar, she likes and comments on Oscar's post."""
    member_services.profile_update(
        user=owner, photo=avatar_rendition(imagefactory.jpeg(300, 300)), remove_photo=False
    )
    source = imagefactory.jpeg(400, 300)
    photos = [Photo(source, "A red door"), Photo(source, "Café <b>")]
    post_create(author=owner, photos=photos, caption="Doors of Lisbon #doors")
    factories.follow(follower, owner)
    factories.follow(owner, outsider)
    his = factories.post(outsider, "oscar's")
    factories.like(owner, his)
    factories.comment(owner, his, "Lovely ✨")
    return owner


def download(client) -> zipfile.ZipFile:
    response = client.post("/accounts/download/")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="instagram-olivia-')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_zip_holds_every_photo_and_the_data(client, olivia, bucket):
    client.force_login(olivia)
    archive = download(client)
    assert archive.testzip() is None
    data = json.loads(archive.read("data.json"))

    assert data["profile"]["username"] == "olivia"
    assert data["profile"]["email"] == "olivia@example.com"
    (post,) = data["posts"]
    assert post["caption"] == "Doors of Lisbon #doors"
    assert [photo["alt_text"] for photo in post["photos"]] == ["A red door", "Café <b>"]
    oscars = Post.objects.get(author__username="oscar").code
    assert [(c["post"], c["text"]) for c in data["comments"]] == [(oscars, "Lovely ✨")]
    assert [like["post"] for like in data["likes"]] == [oscars]
    assert data["followers"] == ["felix"] and data["following"] == ["oscar"]

    # Every stored object of hers is in the zip, byte for byte, under the names the JSON gives.
    stored = {olivia.avatar.name: data["profile"]["photo"]}
    for image, photo in zip(
        PostImage.objects.filter(post__author=olivia).order_by("order"), post["photos"], strict=True
    ):
        stored[image.display.name] = photo["file"]
        stored[image.thumbnail.name] = photo["thumbnail"]
    assert sorted(archive.namelist()) == sorted([*stored.values(), "data.json"])
    for key, name in stored.items():
        assert archive.read(name) == bucket.get("media/" + key)["Body"].read()
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


def test_a_member_without_posts_gets_a_zip_too(client):
    client.force_login(factories.user(username="olivia"))
    data = json.loads(download(client).read("data.json"))
    assert data["posts"] == [] and "photo" not in data["profile"]


def test_it_is_once_an_hour(client, olivia):
    client.force_login(olivia)
    download(client)
    response = client.post("/accounts/download/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 3500
    assert "once an hour" in response.content.decode()


def test_it_is_a_post_from_the_settings_page(client, owner):
    client.force_login(owner)
    assert client.get("/accounts/download/").status_code == 405
    page = client.get("/accounts/settings/").content.decode()
    assert 'action="/accounts/download/"' in page


def test_the_number_of_queries_does_not_grow_with_the_posts(owner, bucket):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            made = b"".join(export.export_stream(owner))
        posts = json.loads(zipfile.ZipFile(io.BytesIO(made)).read("data.json"))["posts"]
        assert len(posts) == Post.objects.filter(author=owner).count()
        return len(captured)

    with_photos(owner, posts=1)
    one = queries()
    with_photos(owner, posts=4)
    assert queries() == one


def test_a_download_broken_by_a_storage_outage_does_not_spend_the_hour(
    client, olivia, s3_secrets, s3_proxy
):
    client.force_login(olivia)
    s3_proxy.fail("GET", action="error")
    with media_through(s3_secrets, s3_proxy.url, **QUICK):
        response = client.post("/accounts/download/")
        assert response.status_code == 200  # sent before the first object was read
        with pytest.raises(ClientError, match="InternalError"):
            b"".join(response.streaming_content)
    s3_proxy.heal()
    assert download(client).testzip() is None
