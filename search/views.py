"""The search page, and the same answer as JSON for the search box's suggestions."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from config.errors import wants_json
from search import selectors
from search.query import query_parse

RESULTS = 30
SUGGESTIONS = 6


def search(request: HttpRequest) -> HttpResponse:
    """``/search/?q=``: people and tags; a script asking for JSON gets a few as suggestions."""
    query = query_parse(request.GET.get("q", ""))
    script = wants_json(request)
    results = selectors.search_results(
        query=query, viewer=request.user, limit=SUGGESTIONS if script else RESULTS
    )
    if script:
        response = JsonResponse(
            {
                "query": query.typed,
                "people": [
                    {
                        "username": person.username,
                        "full_name": person.full_name,
                        "url": person.get_absolute_url(),
                        "avatar": person.avatar.url if person.avatar else None,
                        "private": person.is_private,
                    }
                    for person in results.people
                ],
                "tags": [{"name": tag.name, "url": tag.get_absolute_url()} for tag in results.tags],
            }
        )
    else:
        response = render(request, "search/results.html", {"results": results})
    # One URL answers a page or JSON: a cache must keep them apart.
    patch_vary_headers(response, ["Accept", "X-Requested-With"])
    return response
