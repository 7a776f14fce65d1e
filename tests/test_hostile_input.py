"""A corpus of hostile input, sent through the real views: each is refused with a clear message
or made harmless, nothing is stored for a refusal, and the site goes on serving.

Narrower tests of the same rules live beside the code they test (test_images.py,
test_posts_create.py, test_members_views.py); this file is the corpus seen end to end.
"""

import html
import io
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from members.models import User
from posts.models import Comment, Post
from tests import factories, imagefactory
from tests.test_members_photos import upload as upload_avatar
from tests.test_posts_create import _near, share

pytestmark = pytest.mark.django_db

NOT_AN_IMAGE = "This file is not an image we can read (JPEG, PNG, WebP, GIF or HEIC)."
# Text that would run script, or link to it, if it were not escaped; and invisible characters
# that must stay inside the text they are in.
HOSTILE_TEXT = (
    '<script>alert(1)</script> <a href="javascript:alert(2)">win</a> JavaScript:alert(3) '
    "#to\u200bp @ev\u202eil \u2067done"
)


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return owner


def assert_still_serving(client) -> None:
    """A normal page still answers after the hostile request."""
    assert client.get("/explore/").status_code == 200


def assert_nothing_stored(bucket) -> None:
    assert bucket.keys() == []
    assert not Post.objects.exists()


def post_photo(client, name: str, content: bytes):
    return share(client, SimpleUploadedFile(name, content), caption="kept caption")


def avatar_photo(client, name: str, content: bytes):
    return upload_avatar(client, content, name)


UPLOADS = [
    pytest.param(post_photo, "media/posts/", id="post"),
    pytest.param(avatar_photo, "media/avatars/", id="profile photo"),
]

REFUSED_FILES = [
    pytest.param("notes.jpg", lambda: imagefactory.TEXT, NOT_AN_IMAGE, id="text named .jpg"),
    pytest.param("page.png", lambda: imagefactory.HTML, NOT_AN_IMAGE, id="HTML named .png"),
    pytest.param(
        "drawing.png", lambda: imagefactory.SVG_WITH_SCRIPT, NOT_AN_IMAGE, id="SVG+script as .png"
    ),
    pytest.param("paper.jpg", lambda: imagefactory.PDF, NOT_AN_IMAGE, id="PDF named .jpg"),
    pytest.param(
        "cut.jpg",
        imagefactory.truncated_jpeg,
        "This image is damaged or incomplete.",
        id="truncated JPEG",
    ),
    pytest.param("empty.jpg", lambda: b"", "file is empty.", id="empty"),
    pytest.param(
        "huge.jpg",
        lambda: imagefactory.pad_jpeg(imagefactory.jpeg(), 25 * 1024 * 1024),
        "This file is 25.0 MB; the limit is 20 MB.",
        id="25 MB",
    ),
    pytest.param(
        "bomb.png",
        imagefactory.png_bomb,
        "This image has more than 50 megapixels.",
        id="20000x20000 PNG",
    ),
]


@pytest.mark.parametrize(("send", "prefix"), UPLOADS)
@pytest.mark.parametrize(("name", "build", "message"), REFUSED_FILES)
def test_a_hostile_file_is_refused_with_a_clear_message_and_nothing_stored(
    client, member, bucket, send, prefix, name, build, message
):
    response = send(client, name, build())
    assert response.status_code in (200, 400)
    assert message in html.unescape(response.content.decode())
    assert_nothing_stored(bucket)
    member.refresh_from_db()
    assert not member.avatar
    assert_still_serving(client)


@pytest.mark.parametrize(("send", "prefix"), UPLOADS)
def test_a_file_name_holding_html_is_shown_as_text(client, member, bucket, send, prefix):
    name = '<img src=x onerror="alert(1)">.jpg'
    response = send(client, name, imagefactory.TEXT)
    page = response.content.decode()
    assert NOT_AN_IMAGE in html.unescape(page)
    assert "<img src=x" not in page
    assert_nothing_stored(bucket)
    assert_still_serving(client)


def _stored(bucket, prefix: str) -> list[bytes]:
    """The stored objects, each checked to be named by a UUID under ``prefix``."""
    keys = bucket.keys()
    assert keys and all(re.fullmatch(rf"{prefix}[0-9a-f]{{32}}\.jpg", key) for key in keys)
    return [bucket.get(key)["Body"].read() for key in keys]


@pytest.mark.parametrize(("send", "prefix"), UPLOADS)
def test_a_gif_with_thousands_of_frames_is_accepted_as_its_first_frame(
    client, member, bucket, send, prefix
):
    response = send(client, "flicker.gif", imagefactory.gif(800, 600, frames=5000))
    assert response.status_code == 302
    for data in _stored(bucket, prefix):
        image = Image.open(io.BytesIO(data))
        # The first frame shows the marker top left on the background; the second is all green.
        assert _near(image.getpixel((10, 10)), imagefactory.MARKER)
        assert _near(image.getpixel((image.width - 10, image.height - 10)), imagefactory.BACKGROUND)
    assert_still_serving(client)


@pytest.mark.parametrize(("send", "prefix"), UPLOADS)
def test_megabytes_of_exif_are_stripped(client, member, bucket, send, prefix):
    photo = imagefactory.jpeg(metadata=True, gps=True, app_padding=5 * 1024 * 1024)
    assert len(photo) > 5 * 1024 * 1024
    response = send(client, "heavy.jpg", photo)
    assert response.status_code == 302
    for data in _stored(bucket, prefix):
        assert len(data) < 200 * 1024
        assert imagefactory.PADDING not in data and b"Exif" not in data
        assert not any(secret in data for secret in imagefactory.SECRETS)
    assert_still_serving(client)


def raw_upload(client, path: str, fields: dict[str, str], file_field: str, file_name: str):
    """POST a multipart form with a JPEG whose file name reaches the server byte for byte
    (Django's test client would cut it to its base name first)."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="'.encode()
        + file_name.encode()
        + b'"\r\nContent-Type: image/jpeg\r\n\r\n'
        + imagefactory.jpeg(400, 400)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(path, body, content_type=f"multipart/form-data; boundary={boundary}")


HOSTILE_NAMES = [
    pytest.param("../../../etc/passwd.jpg", id="../"),
    pytest.param("..\\..\\windows\\win.ini.jpg", id="..\\"),
    pytest.param("photo\x00.php.jpg", id="NUL byte"),
    pytest.param("사진" * 150 + "\u202egpj.exe", id="long Unicode"),
]
NAME_UPLOADS = [
    pytest.param("/posts/new/", {"caption": "hi"}, "photos", "media/posts/", id="post"),
    pytest.param(
        "/accounts/edit/",
        {"username": "olivia", "email": "olivia@example.com"},
        "photo",
        "media/avatars/",
        id="profile photo",
    ),
]


@pytest.mark.parametrize(("path", "fields", "file_field", "prefix"), NAME_UPLOADS)
@pytest.mark.parametrize("file_name", HOSTILE_NAMES)
def test_the_stored_name_is_a_uuid_whatever_the_file_is_called(
    client, member, bucket, path, fields, file_field, prefix, file_name
):
    response = raw_upload(client, path, fields, file_field, file_name)
    assert response.status_code == 302
    assert _stored(bucket, prefix)
    assert_still_serving(client)


def test_a_caption_over_the_limit_is_refused_naming_the_limit(client, member, bucket):
    response = share(client, imagefactory.jpeg(400, 400), caption="a" * 2201)
    assert response.status_code == 400
    [error] = response.context["form"].errors["caption"]
    assert "at most 2200 characters (it has 2201)" in error
    assert error in html.unescape(response.content.decode())
    assert_nothing_stored(bucket)
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a" * 2201, "at most 2200 characters (it has 2201)", id="over the limit"),
        pytest.param("hello\x00world", "Null characters are not allowed.", id="NUL byte"),
        pytest.param(
            "\u200b\u200d\u2060",
            "Write something first.",
            id="only invisible characters",
        ),
    ],
)
def test_a_hostile_comment_is_refused_with_a_clear_message(client, member, bucket, text, message):
    post = factories.post(member)
    response = client.post(f"/p/{post.code}/comments/", {"text": text}, follow=True)
    assert message in html.unescape(response.content.decode())
    json = client.post(
        f"/p/{post.code}/comments/", {"text": text}, headers={"Accept": "application/json"}
    )
    assert json.status_code == 400
    assert message in " ".join(json.json()["errors"])
    assert not Comment.objects.exists()
    assert_still_serving(client)


def test_a_caption_with_a_nul_byte_is_refused(client, member, bucket):
    response = share(client, imagefactory.jpeg(400, 400), caption="hello\x00world")
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert_nothing_stored(bucket)
    assert_still_serving(client)


def _assert_rendered_harmless(page: str) -> None:
    """HOSTILE_TEXT is shown as text: no script, no javascript: link, invisibles kept in place."""
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;a href=&quot;javascript:alert(2)&quot;&gt;win&lt;/a&gt;" in page
    for href in re.findall(r"""\bhref\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE):
        target = re.sub(r"[\x00-\x20]", "", html.unescape(href)).lower()
        assert not target.startswith(("javascript:", "data:", "vbscript:")), href
    # A zero-width space or a right-to-left override ends a tag or mention, and stays text.
    assert '<a href="/explore/tags/to/">#to</a>\u200bp' in page
    assert '<a href="/ev/">@ev</a>\u202eil' in page


def test_a_hostile_caption_is_shown_as_harmless_text(client, member, bucket):
    response = share(client, imagefactory.jpeg(400, 400), caption=HOSTILE_TEXT)
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.caption == HOSTILE_TEXT
    _assert_rendered_harmless(client.get(post.get_absolute_url()).content.decode())
    _assert_rendered_harmless(client.get("/").content.decode())
    assert_still_serving(client)


def test_a_hostile_comment_is_shown_as_harmless_text(client, member, bucket):
    post = factories.post(member)
    fragment = client.post(
        f"/p/{post.code}/comments/", {"text": HOSTILE_TEXT}, headers={"Accept": "application/json"}
    )
    assert fragment.status_code == 200
    _assert_rendered_harmless(fragment.content.decode())
    assert Comment.objects.get().text == HOSTILE_TEXT
    _assert_rendered_harmless(client.get(post.get_absolute_url()).content.decode())
    assert_still_serving(client)


def test_a_javascript_website_is_refused_and_never_linked(client, member, bucket):
    response = client.post(
        "/accounts/edit/",
        {
            "username": "olivia",
            "email": "olivia@example.com",
            "website": "javascript:alert(document.cookie)",
            "bio": "<script>alert(1)</script>",
        },
    )
    assert "Enter a valid URL." in response.content.decode()
    member.refresh_from_db()
    assert member.website == "" and member.bio == ""
    profile = client.get("/olivia/").content.decode()
    assert "javascript:" not in profile
    assert_still_serving(client)


SIGNUP = {
    "email": "mallory@example.com",
    "full_name": "Mallory",
    "password1": "through-the-looking-glass",
    "password2": "through-the-looking-glass",
}
# Each look-alike is refused, either as the existing name it folds to or as not plain ASCII.
REFUSALS = (
    "A user with that username already exists.",
    "Use only lowercase letters, numbers, periods and underscores",
)


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("Olivia", id="capital"),
        pytest.param("OLIVIA", id="all capitals"),
        pytest.param(" olivia ", id="spaces around"),
        pytest.param("\uff4f\uff4c\uff49\uff56\uff49\uff41", id="fullwidth"),
        pytest.param("ol\u0456via", id="Cyrillic i"),
        pytest.param("\u03bflivia", id="Greek omicron"),
        pytest.param("ol\u0131via", id="dotless i"),
        pytest.param("OL\u0130V\u0130A", id="dotted capital I"),
        pytest.param("olivia\u200b", id="zero-width space"),
        pytest.param("oli\u0301via", id="combining accent"),
        pytest.param("\u202eaivilo", id="right-to-left override"),
    ],
)
def test_a_look_alike_username_is_refused_at_sign_up(client, owner, username):
    response = client.post("/accounts/signup/", {**SIGNUP, "username": username})
    assert response.status_code == 200
    [error] = response.context["form"].errors["username"]
    assert error.startswith(REFUSALS)
    assert error in html.unescape(response.content.decode())
    assert list(User.objects.values_list("username", flat=True)) == ["olivia"]
    assert_still_serving(client)


NUL_URLS = [
    "/a%00b/",
    "/p/a%00/",
    "/p/a%00/edit/",
    "/explore/tags/a%00/",
    "/a%00/followers/",
    "/a%00/following/",
    "/?after=1%00",
    "/explore/?after=%00",
    "/olivia/?after=%00",
    "/olivia/followers/?page=%00",
    "/accounts/login/?next=/%00",
    "/accounts/signup/?next=%00",
    "/explore/?q%00=1",
]


@pytest.mark.parametrize("url", NUL_URLS)
@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_a_nul_byte_in_a_url_is_a_bad_request_not_an_error(client, owner, url, signed_in):
    if signed_in:
        client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 400
    assert "isn't a valid address" in html.unescape(response.content.decode())
    assert_still_serving(client)


@pytest.mark.parametrize("url", ["/olivia/follow/", "/p/a%00/like/", "/p/a%00/comments/"])
def test_a_nul_byte_in_a_url_posted_to_is_a_bad_request(client, member, url):
    response = client.post(url.replace("olivia", "oli%00via"), {"text": "hi"})
    assert response.status_code == 400
    assert_still_serving(client)


# Django's email check accepts "İ" (its pattern ignores case), and "İ".lower() is two characters:
# "i" and a combining dot above. So 240 of them pass the 254-character limit and outgrow it.
LONG_WHEN_LOWERED_EMAIL = "\u0130" * 240 + "@example.com"


def test_an_email_that_lowercasing_lengthens_is_refused_at_sign_up(client, owner):
    response = client.post(
        "/accounts/signup/", {**SIGNUP, "username": "mallory", "email": LONG_WHEN_LOWERED_EMAIL}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.context["form"].errors["email"]
    assert list(User.objects.values_list("username", flat=True)) == ["olivia"]
    assert_still_serving(client)


def test_an_email_that_lowercasing_lengthens_is_refused_as_a_new_address(client, member):
    response = client.post(
        "/accounts/email/", {"email": LONG_WHEN_LOWERED_EMAIL, "password": factories.PASSWORD}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in html.unescape(response.content.decode())
    member.refresh_from_db()
    assert member.email == "olivia@example.com" and not member.pending_email
    assert_still_serving(client)


def test_an_email_that_lowercasing_lengthens_is_refused_by_the_model(owner):
    from django.core.exceptions import ValidationError

    owner.email = LONG_WHEN_LOWERED_EMAIL
    with pytest.raises(ValidationError) as refused:
        owner.full_clean()
    assert "email" in refused.value.message_dict


def test_a_login_that_lowercasing_lengthens_is_refused_and_counted(client, owner):
    from config.models import RateCounter

    login = "\u0130" * 254
    response = client.post("/accounts/login/", {"username": login, "password": "wrong"})
    assert response.status_code == 200
    assert "don't match an account" in html.unescape(response.content.decode())
    assert RateCounter.objects.get(scope="password.pair").count == 1
    assert_still_serving(client)


def test_alt_text_with_a_nul_byte_is_refused_with_a_clear_message(client, member, bucket):
    response = share(client, imagefactory.jpeg(400, 400), caption="hi", alt=["a\x00b"])
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert_nothing_stored(bucket)
    assert_still_serving(client)


@pytest.mark.parametrize("target", ["0", "feed", "members:edit", "?x=1", "p/abc/"])
def test_a_next_that_is_not_a_path_leads_back_to_the_post(client, member, target):
    post = factories.post(member)
    response = client.post(f"/p/{post.code}/like/", {"next": target})
    assert response.status_code == 302
    assert response.url == post.get_absolute_url()
    assert_still_serving(client)


@pytest.mark.parametrize("name", ["sessionid", "csrftoken", "messages"])
def test_a_cookie_holding_a_nul_is_ignored(client, member, name):
    # A client can send one without a NUL byte on the wire: "\000" in a quoted cookie value.
    client.cookies[name] = "abcdefghijk\x00lmnop"
    response = client.get("/olivia/")
    assert response.status_code == 200
    # Only a session cookie with a NUL loses the session: there is no such session.
    assert ("Edit profile" in response.content.decode()) == (name != "sessionid")
