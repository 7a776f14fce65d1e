"""The README's run command: a fresh copy of the project serves on its embedded default."""

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.servers import ROOT, Browser, clean_environ, on_a_free_port, project_copy, wait_for

pytestmark = pytest.mark.slow


def test_bin_run_serves_sign_up_on_sqlite_and_says_so_once(tmp_path):
    app = project_copy(tmp_path / "app")
    (app / ".venv").symlink_to(ROOT / ".venv")
    log = tmp_path / "run.log"

    def run(port: int) -> tuple[subprocess.Popen, int]:
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bin/run", f"127.0.0.1:{port}"],
                cwd=app,
                env=clean_environ(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(f"http://127.0.0.1:{port}/", process, log, seconds=120)
        except RuntimeError:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            raise
        return process, port

    process, port = on_a_free_port(run)
    try:
        page = requests.get(f"http://127.0.0.1:{port}/accounts/signup/", timeout=10)
        assert page.status_code == 200
        assert 'name="username"' in page.text
        # A newcomer can reset a password locally: the mail, link and all, is in the terminal.
        newcomer = Browser(f"http://127.0.0.1:{port}")
        newcomer.sign_up("newcomer", "through-the-looking-glass")
        newcomer.submit("/accounts/password/reset/", {"login": "newcomer"})
        # The mail is printed once the answer is sent (config.after_response).
        deadline = time.monotonic() + 30
        while "Subject: Instagram: reset your password" not in log.read_text():
            assert time.monotonic() < deadline, "the reset mail was never printed"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert (app / "db.sqlite3").exists()
    output = log.read_text()
    assert output.count("running on the embedded default") == 1
    assert "email printed here" in output
    assert "Subject: Instagram: reset your password" in output
    assert f"http://127.0.0.1:{port}/accounts/password/reset/" in output
