"""The application factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from missionboard.config import Settings
from missionboard.db.session import create_db_engine, create_session_factory
from missionboard.errors import DomainError, NotAuthenticated, ValidationFailed
from missionboard.web.templating import create_environment

_STATIC = Path(__file__).parent / "static"


def _node_assets(settings: Settings) -> Path:
    root = settings.node_modules
    if not root.is_absolute():
        # Relative to the checkout (the package lives in src/missionboard).
        candidates = [Path.cwd() / root, Path(__file__).resolve().parents[3] / root]
        root = next((c for c in candidates if c.is_dir()), candidates[0])
    return root


class SecurityHeaders:
    """Adds the security headers that a response does not set itself.

    Plain ASGI rather than ``@app.middleware("http")`` (same headers, same place in the
    stack): Starlette's ``BaseHTTPMiddleware`` runs every request in a task of its own with
    memory streams, about 0.2 ms of CPU a request, as much as the rest of a vote's handling.
    """

    HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
               ("Referrer-Policy", "same-origin"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    env = request.app.state.templates
    html = env.get_template("error.html").render(
        {"request": request, "status": status, "title": title, "detail": detail,
         "current_user": None, "csrf_token": ""}
    )
    return HTMLResponse(html, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotAuthenticated) and _wants_html(request):
            from fastapi.responses import RedirectResponse

            return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)
        if _wants_html(request):
            return _error_page(request, exc.status_code, exc.title, exc.detail)
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationFailed):
            extra["errors"] = [e.as_dict() for e in exc.errors]
        return problem(exc.status_code, exc.title, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                  for e in exc.errors()]
        if _wants_html(request):
            return _error_page(request, 400, "Bad request",
                               "; ".join(f"{e['field']}: {e['message']}" for e in errors))
        return problem(422, "The request is not valid", f"{len(errors)} error(s)",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "Error")
        if _wants_html(request):
            return _error_page(request, exc.status_code, title, str(exc.detail))
        return problem(exc.status_code, title, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        if _wants_html(request):
            return _error_page(request, 500, "Sorry, there is a problem with the service",
                               "Try again later.")
        return problem(500, "Internal server error", "Try again later.")


def _routers_within(router: Any) -> list[Any]:
    """``router`` and the routers included in it, however deep."""
    found = [router]
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _routers_within(inner)
    return found


def prefilter_routers(app: FastAPI) -> None:
    """Let each included page router turn away at once a path none of its routes can match.

    FastAPI tries the routes in order, one regular expression and a few calls each: a path
    of the last routers included (partners, volunteering) was tried against some 270 routes,
    over a millisecond of CPU on every request. Each router of ``app`` whose routes are all
    plain FastAPI routes gets one expression joining theirs; a path it does not match is
    answered "no match" without trying them, a path it does match is matched as before, so
    which route answers does not change. A router whose routes change afterwards (its
    version, or an included router's, moves) is matched as before on every request.
    """
    from fastapi.routing import APIRoute
    from starlette._utils import get_route_path
    from starlette.routing import Match

    for route in app.router.routes:
        included = getattr(route, "original_router", None)
        contexts = getattr(route, "effective_route_contexts", None)
        if included is None or contexts is None:
            continue
        patterns: list[str] = []
        for context in contexts():
            regex = getattr(context, "path_regex", None)
            if not isinstance(context.original_route, APIRoute) or regex is None:
                patterns = []
                break
            patterns.append("(?:" + re.sub(r"\(\?P<\w+>", "(?:", regex.pattern) + ")")
        if not patterns:
            continue
        routers = _routers_within(included)
        if not all(hasattr(r, "_routes_version") for r in routers):
            continue
        built = [r._routes_version for r in routers]
        combined = re.compile("|".join(patterns))
        original = route.matches

        def matches(scope: Scope, combined: re.Pattern[str] = combined,
                    original: Callable[[Scope], tuple[Match, Scope]] = original,
                    routers: list[Any] = routers, built: list[int] = built
                    ) -> tuple[Match, Scope]:
            if (scope["type"] == "http" and combined.match(get_route_path(scope)) is None
                    and [r._routes_version for r in routers] == built):
                return Match.NONE, {}
            return original(scope)

        route.matches = matches  # type: ignore[method-assign]


def _with_analyser(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from missionboard.deliberation.worker import BackgroundAnalyser

        analyser = BackgroundAnalyser(settings.database_url,
                                      interval=settings.deliberation_interval_seconds)
        analyser.start()
        try:
            yield
        finally:
            analyser.stop()

    return lifespan


def _page_routers() -> list[APIRouter]:
    """Every domain's page router, in the order they are matched."""
    from missionboard.accounts.views import router as accounts_router
    from missionboard.benchmarking.views import router as benchmarking_router
    from missionboard.councils.views import router as councils_router
    from missionboard.deliberation.views import router as deliberation_router
    from missionboard.delivery.views import router as delivery_router
    from missionboard.metrics.views import router as metrics_router
    from missionboard.missions.views import router as missions_router
    from missionboard.panels.views import router as panels_router
    from missionboard.partners.dashboard_views import router as mobilisation_router
    from missionboard.partners.routers import router as partners_router
    from missionboard.stocktakes.views import router as stocktakes_router
    from missionboard.trials.adoption_views import router as adoption_router
    from missionboard.trials.results_views import router as results_router
    from missionboard.trials.views import router as trials_router
    from missionboard.trials.what_works_views import router as what_works_router
    from missionboard.volunteering.views import router as volunteering_router
    return [accounts_router, missions_router, metrics_router, delivery_router, stocktakes_router,
            benchmarking_router, deliberation_router, panels_router, trials_router,
            adoption_router, results_router, what_works_router, councils_router,
            volunteering_router, partners_router, mobilisation_router]


def create_app(
    settings: Settings, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the web application. Tests pass their own ``session_factory``.

    An app that builds its own engine also runs the background analyser of conversations
    (:mod:`missionboard.deliberation.worker`) during its lifespan, when
    ``settings.deliberation_worker`` is true; one given a session factory never does, since
    the analyser's child process needs a database it can open by URL.
    """
    from missionboard.web.api import create_api

    analyser = session_factory is None and settings.deliberation_worker
    app = FastAPI(title="Missionboard", openapi_url=None, docs_url=None, redoc_url=None,
                  lifespan=_with_analyser(settings) if analyser else None)
    app.state.settings = settings
    if session_factory is None:
        engine = create_db_engine(settings.database_url)
        session_factory = create_session_factory(engine)
    app.state.session_factory = session_factory
    app.state.templates = create_environment()

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="missionboard_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )

    app.add_middleware(SecurityHeaders)

    node = _node_assets(settings)
    app.mount("/assets", StaticFiles(directory=node / "govuk-frontend/dist/govuk/assets",
                                     check_dir=False), name="govuk-assets")
    app.mount("/vendor/govuk", StaticFiles(directory=node / "govuk-frontend/dist/govuk",
                                           check_dir=False), name="govuk")
    for pkg, sub in (("vega", "build"), ("vega-lite", "build"), ("vega-embed", "build"),
                     ("htmx.org", "dist")):
        app.mount(f"/vendor/{pkg}", StaticFiles(directory=node / pkg / sub, check_dir=False),
                  name=f"vendor-{pkg}")
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    install_error_handlers(app)
    # The API first: no page lives under /api/v1, and votes then skip matching every page.
    app.mount("/api/v1", create_api(settings, session_factory))
    for router in _page_routers():
        app.include_router(router)
    prefilter_routers(app)
    return app
