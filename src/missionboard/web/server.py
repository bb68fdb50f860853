"""The application as a server process runs it: ``missionboard serve``, or uvicorn's factory
mode for several workers::

    MISSIONBOARD_DATABASE_URL=... uvicorn --factory missionboard.web.server:app \\
        --workers 2 --loop uvloop --http httptools
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from missionboard.config import get_settings
from missionboard.partners import lookups
from missionboard.web.app import create_app

#: Allocations between collections of the youngest generation (Python's default is 700).
YOUNG_THRESHOLD = 20_000


def app() -> FastAPI:
    """The application with settings from the environment, in a settled heap."""
    application = create_app(get_settings())
    # Templates do not change under a running server: no stat of each template's file on
    # every render.
    application.state.templates.auto_reload = False
    # The public pages' small lookups (missions, areas, tags), remembered for a few seconds.
    lookups.configure(lookups.DEFAULT_SECONDS)
    settle_heap()
    return application


def settle_heap() -> None:
    """Tune the garbage collector for a long-running server process.

    Everything built at start-up (modules, the app, its routes, templates and models: a few
    hundred thousand objects) is moved out of the collector's sight with :func:`gc.freeze`,
    and the youngest generation is collected every :data:`YOUNG_THRESHOLD` allocations.
    Without this, a request waiting some tens of milliseconds for its vote's batch to commit
    outlives several young collections, is promoted, and brings on full collections that walk
    the whole heap: they took half of the server's time at 2,000 votes a second
    (``docs/benchmarks.md``, "Deliberation votes").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 10, 10)
