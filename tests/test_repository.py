"""Secrets never enter git: no secrets.json, and no AWS key in any file git tracks or would add.

Files "git would add" are the new ones git does not ignore, so a key is caught before the commit
that would publish it, not after.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.servers import ROOT, shipped_files

# A secret access key is 40 characters of base64's alphabet, assigned to a name like
# aws_secret_access_key (Python, shell, ~/.aws/credentials), "AWS_SECRET_ACCESS_KEY": (JSON)
# or SecretAccessKey: (YAML, CloudFormation).
SECRET_ACCESS_KEY = re.compile(
    r"""secret[_-]?access[_-]?key["']?\s*(?::|=>?)\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])""",
    re.IGNORECASE,
)
ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])")
# Holds the key names with empty values, for people to copy and fill in.
EXAMPLE = "secrets.json.example"


def leaks(path: str, text: str) -> list[str]:
    """What in ``text`` (the content of ``path``) looks like an AWS key."""
    found = [f"{path}: access key id {match}" for match in ACCESS_KEY_ID.findall(text)]
    if Path(path).name != EXAMPLE:
        found += [f"{path}: secret access key in {m!r}" for m in SECRET_ACCESS_KEY.findall(text)]
    return found


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary (or vanished) file."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_secrets_json_is_tracked_at_any_depth():
    tracked = [path for path in shipped_files() if Path(path).name == "secrets.json"]
    assert tracked == []


@pytest.mark.parametrize("path", ["secrets.json", "config/secrets.json", "deploy/x/secrets.json"])
def test_git_ignores_a_secrets_json_anywhere(path):
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert ignored.returncode == 0, f"{path} is not ignored by git"


def test_no_file_git_would_publish_holds_an_aws_key():
    found = []
    for path in shipped_files():
        text = text_of(ROOT / path)
        if text is not None:
            found += leaks(path, text)
    assert found == []


@pytest.mark.parametrize(
    "line",
    [
        'AWS_SECRET_ACCESS_KEY = "' + "Zq3/" * 9 + "Zq3+" + '"',
        '"AWS_SECRET_ACCESS_KEY": "' + "a1B2" * 10 + '",',
        "aws_secret_access_key=" + "Zz9/" * 10,
        "export AWS_SECRET_ACCESS_KEY='" + "x+Y0" * 10 + "'",
        "  SecretAccessKey: " + "Q" * 40,
        "key_id = " + "AKIA" + "Q7" * 8,
    ],
)
def test_the_scan_finds_keys_written_the_usual_ways(line):
    assert leaks("settings.py", f"\n{line}\n")


@pytest.mark.parametrize(
    "line",
    [
        '"AWS_SECRET_ACCESS_KEY": "",',
        'AWS_SECRET_ACCESS_KEY = "test-secret"',
        "aws_secret_access_key=CREDENTIALS['AWS_SECRET_ACCESS_KEY']",
        "AWS_SECRET_ACCESS_KEY = " + "a" * 41,
        '"AWS_ACCESS_KEY_ID": "test-key-id"',
    ],
)
def test_the_scan_leaves_placeholders_alone(line):
    assert leaks("settings.py", f"\n{line}\n") == []
