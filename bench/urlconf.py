"""The site's URLs plus /bench/trivial/, the reference the feed's throughput is compared with."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

TRIVIAL_PATH = "/bench/trivial/"


def trivial(request: HttpRequest) -> HttpResponse:
    """A response through every middleware, with no query, template or storage."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path(TRIVIAL_PATH.strip("/") + "/", trivial),
    path("", include("config.urls")),
]
