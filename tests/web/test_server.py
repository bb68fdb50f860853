"""The server process's application: security headers on every response, the API mounted
ahead of the pages, and the garbage collector settled after start-up."""

from __future__ import annotations

import gc

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from starlette.routing import Mount

from missionboard.web import server
from missionboard.web.app import SecurityHeaders

HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "same-origin"}


@pytest.mark.parametrize("path", ["/", "/sign-in", "/no-such-page", "/api/v1/missions",
                                  "/api/v1/no-such-thing", "/api/v1/conversations/none"])
def test_every_response_has_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in HEADERS.items():
        assert response.headers[name] == value, (path, name)


def test_a_response_keeps_a_security_header_it_sets_itself() -> None:
    inner = FastAPI()

    @inner.get("/")
    def page() -> PlainTextResponse:
        return PlainTextResponse("hello", headers={"Referrer-Policy": "no-referrer"})

    inner.add_middleware(SecurityHeaders)
    response = TestClient(inner).get("/")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_server_factory_mounts_the_api_first_and_settles_the_heap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold",
                        lambda *t: calls.append(f"threshold {t[0]}"))
    monkeypatch.setenv("MISSIONBOARD_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("MISSIONBOARD_DELIBERATION_WORKER", "false")
    app = server.app()
    assert calls == ["freeze", f"threshold {server.YOUNG_THRESHOLD}"]
    routes = app.router.routes
    first_router = next(i for i, r in enumerate(routes) if not isinstance(r, Mount))
    assert [r.path for r in routes[:first_router] if isinstance(r, Mount)][-1] == "/api/v1"
    assert not any(isinstance(r, Mount) for r in routes[first_router:])
