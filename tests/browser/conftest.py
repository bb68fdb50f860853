"""Real-browser fixtures: the app served by uvicorn on a free port, driven by headless Chromium.

Chromium comes from Debian (``/usr/bin/chromium``, or ``MISSIONBOARD_CHROMIUM``). Where it is
missing the browser tests are skipped with the reason shown, except under ``CI=true``, where
they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from missionboard.accounts.models import Role
from missionboard.accounts.service import create_user
from missionboard.config import get_settings
from missionboard.db import migrate
from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
from missionboard.demo import load_demo
from missionboard.web.app import create_app
from tests.conftest import IN_CI, fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "browser tests password"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI requires it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("MISSIONBOARD_CHROMIUM") or shutil.which("chromium") or \
        "/usr/bin/chromium"
    if not Path(path).exists():
        _missing(f"Chromium not found at {path}: install Debian's chromium package")
    if not AXE.exists():
        _missing(f"axe-core not found at {AXE}: run npm ci")
    return path


@dataclass
class LiveServer:
    url: str
    engine: Engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, chromium_path: str
) -> Iterator[LiveServer]:
    url = fresh_database_url(backend, tmp_path_factory.mktemp("browser"), "missionboard_browser")
    data_dir = tmp_path_factory.mktemp("browser-data")
    migrate.upgrade(url=url)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    with unit_of_work(factory) as session:
        load_demo(session, admin_email="admin@example.org", admin_password=PASSWORD,
                  data_dir=data_dir)
        create_user(session, email="nobody@example.org", name="Nobody", password=PASSWORD)
        create_user(session, email="second-admin@example.org", name="Second Admin",
                    password=PASSWORD, roles=[(Role.ADMIN, None, None)])
    # Secure cookies, as in production: Chromium accepts them from http://127.0.0.1.
    settings = get_settings(database_url=url, secret_key="browser-tests", cookie_secure=True,
                            node_modules=ROOT / "node_modules", data_dir=data_dir)
    port = _free_port()
    config = uvicorn.Config(create_app(settings, session_factory=factory), host="127.0.0.1",
                            port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", engine=engine)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def assert_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.2 A or AA violation on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: "tag", values:
            ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})"""
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
    ]
    assert not problems, f"{page.url}: " + "; ".join(problems)


def sign_in(page: Page, server: LiveServer, email: str = "admin@example.org") -> None:
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/manage")
