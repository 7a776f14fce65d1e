"""Validate new posts, edits and comments. A new post's photos are checked here from their sizes and
headers; ``services.post_create`` decodes them (``photo_process``) as it stores them."""

import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

from config.decode_slots import decode_slot
from posts import images
from posts.images import MAX_UPLOAD_BYTES, ImageError, Rendition
from posts.isolated import run_isolated
from posts.models import (
    ALT_TEXT_MAX_LENGTH,
    CAPTION_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    PHOTOS_MAX,
    PostImage,
)

T = TypeVar("T")

# One photo at a time per process: gunicorn's threads (deploy/gunicorn.conf.py) would otherwise
# decode several at once and multiply a worker's peak memory (README, Performance). A decode
# in a process of its own (posts/isolated.py) does not grow the worker, and does not take it.
_pipeline = threading.Lock()


def photo_process(
    upload: UploadedFile | bytes,
    process: Callable[..., T],
    *,
    made: Callable[[Rendition], None] | None = None,
) -> T:
    """Run ``process`` on an upload, turning every refusal into a ValidationError.

    The size and header are checked before the pixels are read (``photo_checked``), so an
    oversized upload never enters memory. ``made`` is handed to ``process`` (the pipeline calls
    it with each rendition as soon as it is encoded); a decode in a process of its own gives
    every rendition to it at the end.
    """
    if isinstance(upload, bytes):
        upload = SimpleUploadedFile("photo", upload)
    pixels = photo_checked(upload)
    isolated = pixels >= settings.DECODE_ISOLATE_MIN_PIXELS
    options = {} if made is None else {"made": made}
    with _turn(pixels=pixels, isolated=isolated):
        # The upload itself, never a copy of its bytes: decoders read it a block at a time, and
        # a decode of its own opens a file Django spooled to disk afresh (posts/isolated.py).
        try:
            if not isolated:
                return process(upload, **options)
            result = run_isolated(process, upload)
        except ImageError as exc:
            raise ValidationError(str(exc)) from None
    if made is not None:
        for rendition in result:
            made(rendition)
    return result


def photo_checked(upload: UploadedFile) -> int:
    """How many pixels decoding ``upload`` takes (``images.full_size_pixels``), read from its
    size and header alone; ValidationError if the pipeline would refuse either."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"This file is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1_048_576} MB."
        )
    try:
        return images.full_size_pixels(upload)
    except ImageError as exc:
        raise ValidationError(str(exc)) from None
    finally:
        upload.seek(0)


@contextmanager
def _turn(*, pixels: int, isolated: bool) -> Iterator[None]:
    """This worker's one decode at a time, unless the decode runs in a process of its own; then
    one of the host's decode slots if it is large (DecoderBusy if none frees in time)."""
    if isolated:
        with decode_slot(pixels=pixels):
            yield
        return
    with _pipeline, decode_slot(pixels=pixels):
        yield


def pixels_over_budget(uploads: list[UploadedFile]) -> tuple[int, str] | None:
    """The first upload with which one request's photos would decode more than
    REQUEST_MAX_PIXELS, and why it is refused; None when they fit.

    Read from the files' headers, before any of them is decoded: a few kilobytes of flat
    colour can claim 50 megapixels, and ten of them would hold a worker for seconds. Each
    counts as the work its decode takes (``full_size_pixels``): a lossless WebP decodes whole
    inside libwebp however small its output, so it counts whole. A file the pipeline refuses
    from its size or header counts nothing here; ``photo_checked`` says why.
    """
    total = 0
    for index, upload in enumerate(uploads):
        try:
            total += images.full_size_pixels(upload)
        except ImageError:
            pass
        finally:
            upload.seek(0)
        if total > images.REQUEST_MAX_PIXELS:
            return index, (
                f"With this photo, the post's photos would need {total / 1_000_000:.0f} "
                f"megapixels of processing; one post may take at most "
                f"{images.REQUEST_MAX_PIXELS // 1_000_000}. Share the rest in another post."
            )
    return None


@dataclass(frozen=True)
class Photo:
    """A photo the form accepted, with its alt text: ``services.post_create`` makes its
    renditions and stores them."""

    source: UploadedFile | bytes
    alt_text: str


class PhotoRefused(ValidationError):
    """The image pipeline refused the post's photo at ``index``: its header was fine, but its
    pixels turned out damaged as they were decoded."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type=file multiple>, in the order the browser sent them."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = []
        for item in files:
            cleaned.append(super().clean(item, initial))
        return cleaned


# Alt texts arrive as a list, one per photo, so each is cleaned by this field outside the form.
ALT_TEXT = forms.CharField(
    max_length=ALT_TEXT_MAX_LENGTH,
    required=False,
    error_messages={"max_length": f"Alt text is limited to {ALT_TEXT_MAX_LENGTH} characters."},
)


def new_submission() -> uuid.UUID:
    """A fresh one-time key for a form that must not make two rows when sent twice."""
    return uuid.uuid4()


class SubmittedOnceForm(forms.Form):
    """A form carrying a one-time key; services._created_once makes one row per key."""

    submission = forms.UUIDField(required=False, initial=new_submission, widget=forms.HiddenInput)


PHOTOS_REQUIRED = "Choose at least one photo."
# With JavaScript the page shrinks each photo in the browser before sending it (static/js/app.js):
# long side at most this, as a JPEG of this quality: twice the 1080-pixel display rendition, so
# nothing it shows is lost, and an eighth of the bytes of a 12 MP JPEG (bench/run
# client_resize). Without JavaScript the full-size file arrives and the pipeline shrinks it.
BROWSER_MAX_SIDE = 2160
BROWSER_JPEG_QUALITY = 0.85


class PostForm(SubmittedOnceForm):
    """One to ten photos, each with optional alt text, and a caption."""

    photos = MultipleFileField(
        label="Photos",
        required=False,
        # Empty files reach the image pipeline, whose error names the photo.
        allow_empty_file=True,
        help_text=f"Up to {PHOTOS_MAX} JPEG, PNG, WebP, GIF or HEIC photos, "
        f"{MAX_UPLOAD_BYTES // 1_048_576} MB each.",
        widget=MultipleFileInput(
            attrs={
                "accept": "image/*,.heic,.heif",
                "data-required-message": PHOTOS_REQUIRED,
                "data-shrink-to": BROWSER_MAX_SIDE,
                "data-shrink-quality": BROWSER_JPEG_QUALITY,
            }
        ),
    )
    caption = forms.CharField(
        max_length=CAPTION_MAX_LENGTH,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a caption…"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.alt_texts: list[str] = [
            text.strip() for text in (self.data.getlist("alt_text") if self.data else [])
        ]
        # Why the photo at each position was refused, and what is wrong with an alt text, for
        # pages that show it beside the photo.
        self.photo_errors: dict[int, str] = {}
        self.alt_errors: dict[int, str] = {}

    def alt_slots(self) -> list[tuple[int, str, str]]:
        """(number, alt text, error) for each of the PHOTOS_MAX photo positions, for the page."""
        texts = self.alt_texts + [""] * (PHOTOS_MAX - len(self.alt_texts))
        return [
            (
                index + 1,
                texts[index],
                self.photo_errors.get(index) or self.alt_errors.get(index, ""),
            )
            for index in range(PHOTOS_MAX)
        ]

    def clean_photos(self) -> list[Photo]:
        uploads = self.cleaned_data["photos"]
        if not uploads:
            raise ValidationError(PHOTOS_REQUIRED)
        if len(uploads) > PHOTOS_MAX:
            raise ValidationError(f"A post holds at most {PHOTOS_MAX} photos.")
        if over := pixels_over_budget(uploads):
            index, message = over
            self.photo_errors[index] = message
            raise ValidationError(_photo_error(index, uploads[index], message))
        photos, errors = [], []
        for index, upload in enumerate(uploads):
            alt = self.alt_texts[index] if index < len(self.alt_texts) else ""
            try:
                alt = ALT_TEXT.clean(alt)
            except ValidationError as exc:
                self.alt_errors[index] = exc.messages[0]
                errors.append(_photo_error(index, upload, exc.messages[0]))
                continue
            try:
                photo_checked(upload)
            except ValidationError as exc:
                self.photo_errors[index] = exc.messages[0]
                errors.append(_photo_error(index, upload, exc.messages[0]))
                continue
            photos.append(Photo(source=upload, alt_text=alt))
        if errors:
            raise ValidationError(errors)
        return photos

    def photo_refused(self, refused: PhotoRefused) -> None:
        """Show why the pipeline refused one of the photos this form accepted."""
        upload = self.cleaned_data["photos"][refused.index].source
        self.photo_errors[refused.index] = refused.message
        self.add_error("photos", _photo_error(refused.index, upload, refused.message))


def _photo_error(index: int, upload: UploadedFile, message: str) -> str:
    """``message`` about the photo at ``index``, as the form's list of errors shows it."""
    return f"Photo {index + 1} ({upload.name}): {message}"


class PostEditForm(forms.Form):
    """The caption and each photo's alt text; the photos themselves stay."""

    caption = PostForm.base_fields["caption"]

    def __init__(self, *args, images, **kwargs):
        super().__init__(*args, **kwargs)
        self.images = list(images)
        for image in self.images:
            self.fields[f"alt_{image.pk}"] = forms.CharField(
                label=f"Alt text for photo {image.order + 1}",
                max_length=ALT_TEXT_MAX_LENGTH,
                required=False,
                initial=image.alt_text,
            )

    def photo_fields(self) -> list[tuple[PostImage, forms.BoundField]]:
        """Each photo with its alt text field, for the page."""
        return [(image, self[f"alt_{image.pk}"]) for image in self.images]

    def alt_texts(self) -> dict[int, str]:
        return {image.pk: self.cleaned_data[f"alt_{image.pk}"] for image in self.images}


class CommentForm(SubmittedOnceForm):
    text = forms.CharField(
        label="Add a comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "Add a comment…"}),
        error_messages={"required": "Write something first."},
    )

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        # Zero-width and other format characters (Unicode category Cf) are not whitespace to
        # Python, but a comment of nothing else shows as empty.
        if not any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text):
            raise ValidationError(self.fields["text"].error_messages["required"])
        return text
