"""`manage.py` opens the database through the server's own start-up (server.open_for_service):
on a fresh database a command finds it migrated and seeded, with the signing keys made, as a
started server would leave it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, server_environment


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.own_database
def test_commands_on_a_fresh_database_start_it_as_the_server_does(test_settings):
    url = f"sqlite://{Path(tempfile.mkdtemp()) / 'fresh.db'}"
    env = server_environment(test_settings, DATABASE_URL=url, DATA_DIR=tempfile.mkdtemp())
    env.pop("REDIS_URL", None)
    # The demo offices are seeded by the shared start-up, so the first command has offices
    # to make slots for.
    created = manage(env, "generate-slots", "--from", "2027-03-01", "--to", "2027-03-05")
    assert int(created.split()[0]) > 0, created
    # Keys were made at start-up; rotating needs the active and next ones to exist.
    rotated = manage(env, "rotate-signing-key")
    assert rotated.startswith("signing with ") and "?" not in rotated, rotated
    assert manage(env, "mark-no-shows").endswith("appointments marked NO_SHOW\n")


def test_an_operator_makes_an_account_staff_and_back(test_settings):
    """Production loads no demo sign-ins: staff accounts (the first admin too) are accounts
    someone signed up for, given their role by an operator."""
    url = f"sqlite://{Path(tempfile.mkdtemp()) / 'fresh.db'}"
    env = server_environment(test_settings, DATABASE_URL=url, DATA_DIR=tempfile.mkdtemp())
    env.pop("REDIS_URL", None)
    said = manage(env, "set-role", "--email", "Applicant@Demo.Test", "--role", "OFFICER",
                  "--office", "sh-pd")  # fmt: skip
    assert said == "applicant@demo.test: APPLICANT -> OFFICER at SH-PD\n", said
    said = manage(env, "set-role", "--email", "applicant@demo.test", "--role", "ADMIN")
    assert said == "applicant@demo.test: OFFICER -> ADMIN\n", said
    for args, why in [
        (["--email", "nobody@demo.test", "--role", "ADMIN"], "no account has the e-mail"),
        (["--email", "applicant@demo.test", "--role", "OFFICER"], "--office is needed"),
        (["--email", "applicant@demo.test", "--role", "ANALYST", "--office", "BJ-DC"], "only"),
        (["--email", "applicant@demo.test", "--role", "OFFICER", "--office", "XX"], "no office"),
    ]:
        done = subprocess.run(
            [sys.executable, "manage.py", "set-role", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0 and why in done.stderr, done.stderr
