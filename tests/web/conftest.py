"""Fixtures for page tests: the real app on the test's database, and page quality checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import html5lib
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker

from missionboard.accounts.models import User
from missionboard.config import get_settings
from missionboard.web.app import create_app
from tests import factories


@pytest.fixture
def world(session: Session) -> factories.World:
    w = factories.world(session)
    session.commit()  # releases the SAVEPOINT; the outer test transaction still rolls back
    return w


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = get_settings(secret_key="test-secret", cookie_secure=True)
    app = create_app(settings, session_factory=session_factory)
    # https, so that the Secure session cookie is sent back as a browser would.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, user: User) -> None:
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={
        "email": user.email, "password": factories.PASSWORD, "next": "/manage",
        "csrf_token": csrf_from(page.text)})
    assert response.status_code == 303, response.text


def check_page(response: Response, *, status: int = 200) -> str:
    """Quality checks every page must pass: status, valid HTML, a title, CSRF in every form."""
    assert response.status_code == status, response.text[:2000]
    html = response.text
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(html)  # raises on any parse error
    title = re.search(r"<title[^>]*>([^<]+)</title>", html)
    assert title, "the page has no <title>"
    assert title.group(1).strip(), "the page's <title> is empty"
    for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
        method = re.search(r'method="(\w+)"', form)
        if method and method.group(1).lower() == "post":
            assert 'name="csrf_token"' in form, f"a form without a CSRF token: {form[:200]}"
    return html
