"""deploy/gunicorn.conf.py's hooks for memory: what they do with any request gunicorn hands them."""

import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


@pytest.fixture
def conf(monkeypatch):
    loaded = runpy.run_path(str(CONF))
    trims = []
    monkeypatch.setitem(loaded["post_request"].__globals__, "_malloc_trim", trims.append)
    return loaded, trims


@pytest.mark.parametrize(
    ("length", "trimmed"),
    [("20971520", True), ("65536", True), ("4096", False), ("", False), ("junk", False)],
)
def test_memory_is_handed_back_after_uploads_only(conf, length, trimmed):
    loaded, trims = conf
    loaded["post_request"](None, None, {"CONTENT_LENGTH": length}, None)
    assert trims == ([0] if trimmed else [])


def test_a_request_without_a_length_is_left_alone(conf):
    loaded, trims = conf
    loaded["post_request"](None, None, {}, None)
    assert trims == []
