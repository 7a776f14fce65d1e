"""What the search box's text asks for (search/query.py), for any text: Hypothesis properties,
then the same text through /search/ (PostgreSQL), which answers and never fails."""

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from posts.models import Tag
from search.query import QUERY_MAX_LENGTH, query_parse
from tests import factories
from tests.test_text_properties import any_text

pure = settings(max_examples=200, deadline=None)
bounded = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
every_text = st.one_of(any_text, st.text())


@pure
@given(every_text)
@example("#" + "İ" * 200)
@example("@\x00\ud800 ")
def test_any_text_is_a_query_with_nothing_a_database_would_refuse(typed):
    query = query_parse(typed)
    for text in (query.typed, query.text, query.tag):
        assert len(text) <= QUERY_MAX_LENGTH
        assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)
    assert query.tag == "" or query.tag.replace("_", "a").isalnum()
    assert query.text == query.text.lower().strip()
    assert query.people or query.tags


@pure
@given(st.sampled_from("#@"), every_text)
def test_a_leading_mark_chooses_what_is_searched(mark, rest):
    query = query_parse(mark + rest.lstrip())
    assert (query.people, query.tags) == ((False, True) if mark == "#" else (True, False))


@pure
@given(st.text(alphabet="abcxyz._ ", min_size=1, max_size=30))
def test_plain_words_search_both_as_they_are_folded(words):
    query = query_parse(words.upper())
    assert (query.people, query.tags) == (True, True)
    assert query.text == " ".join(words.split())


@pytest.fixture
def found(db):
    """Someone and a tag to find: once for all of a test's examples, which only read."""
    factories.user(username="annabel", full_name="Annabel Lee")
    Tag.objects.create(name="annabel")


@bounded
@given(typed=any_text)
def test_any_text_in_the_box_gets_an_answer_page_and_json(client, found, typed):
    page = client.get("/search/", {"q": typed})
    answer = client.get("/search/", {"q": typed}, HTTP_ACCEPT="application/json")
    # A NUL is refused before any view (config/middleware.py); anything else is searched.
    expected = 400 if "\x00" in typed else 200
    assert (page.status_code, answer.status_code) == (expected, expected)
    if expected == 200:
        assert set(answer.json()) == {"query", "people", "tags"}
