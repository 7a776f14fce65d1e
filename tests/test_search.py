"""Search: people by username and full name, and tags, through /search/ and its JSON."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Block, User
from posts.models import Tag
from search.query import query_parse
from search.selectors import CANDIDATES, search_results
from tests import factories

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def names(client, q: str) -> list[str]:
    """The usernames and #tags /search/ suggests for ``q``, in order."""
    answer = client.get("/search/", {"q": q}, **JSON).json()
    return [person["username"] for person in answer["people"]] + [
        f"#{tag['name']}" for tag in answer["tags"]
    ]


@pytest.fixture
def crowd(db):
    for username, full_name in [
        ("annabel", "Annabel Lee"),
        ("ann", "Ann Smith"),
        ("joanna", "Joanna Ann"),
        ("bob", "Anne Marie Bob"),
        ("zed", "Zed Zebra"),
    ]:
        factories.user(username=username, full_name=full_name)
    for name in ("annual", "sunset", "sunrise", "ann_arbor"):
        Tag.objects.create(name=name)


def test_the_page_lists_people_and_tags_that_match(client, crowd):
    page = client.get("/search/", {"q": "Ann"})
    assert page.status_code == 200
    text = page.content.decode()
    for shown in ("annabel", "Annabel Lee", "Ann Smith", "</span>#annual", "ann_arbor"):
        assert shown in text
    assert "Zed Zebra" not in text
    assert "sunset" not in text


def test_prefix_matches_come_first_alphabetically_by_what_they_matched(client, crowd):
    # "ann" (username), "Ann Smith"/"annabel"/"Annabel Lee", "Anne Marie Bob" (full name)...
    assert names(client, "ann")[:3] == ["ann", "annabel", "bob"]


def test_a_name_is_found_by_its_full_name_in_any_case(client, crowd):
    assert names(client, "@ANNE MAR")[0] == "bob"


def test_a_leading_hash_searches_tags_only_and_an_at_sign_people_only(client, crowd):
    assert names(client, "#sun") == ["#sunrise", "#sunset"]
    assert names(client, "@sun") == []
    assert all(not name.startswith("#") for name in names(client, "@ann"))
    assert all(name.startswith("#") for name in names(client, "#ann"))


def test_nothing_to_search_shows_the_help_not_an_empty_list(client, crowd):
    for q in ("", "   ", "#", "@", "# !"):
        page = client.get("/search/", {"q": q})
        assert page.status_code == 200
        assert "start with" in page.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_misspelt_name_or_tag_is_still_found_on_postgresql(client, crowd):
    factories.user(username="olivia.rodrigo", full_name="Olivia Rodrigo")
    assert names(client, "@olvia.rodrigo") == ["olivia.rodrigo"]
    assert names(client, "@olivia rodrgo") == ["olivia.rodrigo"]
    assert names(client, "rodriguo") == ["olivia.rodrigo"]
    assert names(client, "#sunsett") == ["#sunset"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_typo_of_a_name_hundreds_share_still_fills_the_page_with_people_one_may_see(client):
    # More near twins than search ranks (CANDIDATES), the earliest of them blocked by the reader.
    twins = User.objects.bulk_create(
        User(username=f"p{number:03}.rodriguez", email=f"p{number}@example.com")
        for number in range(CANDIDATES + 30)
    )
    reader = factories.user(username="reader")
    Block.objects.bulk_create(Block(blocker=reader, blocked=twin) for twin in twins[:CANDIDATES])
    client.force_login(reader)
    found = names(client, "rodrigez")
    assert len(found) == 6
    assert set(found) <= {twin.username for twin in twins[CANDIDATES:]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_a_misspelt_tag_finds_the_closest_tags_first(client):
    for name in ("goldensunset", "goldensunset2", "autumnsunset", "goldenhour"):
        Tag.objects.create(name=name)
    assert names(client, "#goldnsunset") == ["#goldensunset", "#goldensunset2"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements")
def test_every_kind_of_search_runs_as_a_statement_planned_once(crowd):
    reader = factories.user(username="reader")

    def found(typed: str) -> list[str]:
        results = search_results(query=query_parse(typed), viewer=reader, limit=6)
        return [person.username for person in results.people] + [
            f"#{tag.name}" for tag in results.tags
        ]

    # A prefix; a near miss of a username and a tag; a near miss of a full name only.
    assert found("an")[:2] == ["ann", "annabel"]
    assert found("annabl")[0] == "annabel"
    assert found("zebra") == ["zed"]
    # The same kinds with other text: the statements prepared above, run with other values.
    with CaptureQueriesContext(connection) as queries:
        assert found("zed") == ["zed"]
        assert found("sunsett") == ["#sunset"]
        assert found("marie") == ["bob"]
    executed = [query["sql"] for query in queries.captured_queries]
    assert executed and all(sql.startswith("EXECUTE q_") for sql in executed), executed


def test_blocked_accounts_are_not_found_either_way(client, crowd):
    me = factories.user(username="me.myself")
    blocker, blocked = factories.user(username="annoyed"), factories.user(username="annoying")
    Block.objects.create(blocker=blocker, blocked=me)
    Block.objects.create(blocker=me, blocked=blocked)
    client.force_login(me)
    assert "annoyed" not in names(client, "anno")
    assert "annoying" not in names(client, "anno")
    assert "annoy" not in client.get("/search/", {"q": "anno"}).content.decode()
    # Others still find them.
    client.force_login(factories.user(username="someone.else"))
    assert names(client, "@anno")[:2] == ["annoyed", "annoying"]


def test_a_suspended_account_is_not_found(client, crowd):
    factories.user(username="annex", is_active=False)
    assert "annex" not in names(client, "anne")


def test_a_private_account_is_found_but_its_posts_stay_hidden(client, crowd):
    private = factories.user(username="hidden.annie", full_name="Annie Private", is_private=True)
    factories.post(private, "secret #annie_only")
    client.force_login(factories.user(username="stranger"))
    page = client.get("/search/", {"q": "@hidden"}).content.decode()
    assert "hidden.annie" in page
    assert "Private" in page
    assert "secret" not in page
    answer = client.get("/search/", {"q": "hidden"}, **JSON).json()
    assert answer["people"][0]["private"] is True
    assert "secret" not in str(answer)
    assert client.get(answer["people"][0]["url"]).status_code == 200


def test_suggestions_are_few_and_json_with_links(client, crowd):
    for number in range(12):
        factories.user(username=f"annie{number:02}")
    answer = client.get("/search/", {"q": "annie"}, **JSON)
    assert answer["Content-Type"] == "application/json"
    assert "Accept" in answer["Vary"]
    people = answer.json()["people"]
    assert len(people) == 6
    assert people[0] == {
        "username": "annie00",
        "full_name": "",
        "url": "/annie00/",
        "avatar": None,
        "private": False,
    }
    page = client.get("/search/", {"q": "@annie"})
    assert [person.username for person in page.context["results"].people][:12] == [
        f"annie{number:02}" for number in range(12)
    ]


def test_text_is_escaped_on_the_page(client, crowd):
    page = client.get("/search/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_the_search_box_is_in_the_navigation_and_works_without_javascript(client, crowd):
    home = client.get("/explore/").content.decode()
    assert 'role="search"' in home
    assert 'action="/search/"' in home
    assert 'name="q"' in home


def test_no_one_can_sign_up_as_search_and_hide_the_page(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "s@example.com",
            "full_name": "Search",
            "username": "search",
            "password1": "through-the-looking-glass",
            "password2": "through-the-looking-glass",
        },
    )
    assert response.status_code == 200
    assert "reserved" in " ".join(response.context["form"].errors["username"])


def test_the_results_cost_a_fixed_number_of_queries(client, crowd, django_assert_max_num_queries):
    for number in range(40):
        factories.user(username=f"ann{number:02}", full_name=f"Ann Number {number}")
    client.force_login(factories.user(username="reader"))
    client.get("/search/", {"q": "ann"})
    with django_assert_max_num_queries(8):
        page = client.get("/search/", {"q": "ann"})
    assert page.content.decode().count('class="people__row"') == 30
