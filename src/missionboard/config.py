"""Settings: one pydantic-settings class, built by a factory (never at import time)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from ``MISSIONBOARD_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MISSIONBOARD_", extra="ignore")

    database_url: str = "sqlite:///./missionboard.db"
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    #: Secure cookies are sent only over HTTPS (browsers treat http://127.0.0.1 as secure).
    cookie_secure: bool = True
    session_max_age_seconds: int = 8 * 60 * 60
    #: Where the front-end packages were installed by npm.
    node_modules: Path = Path("node_modules")
    #: Failed sign-ins allowed for one email address or one client address in the window.
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    #: Trust X-Forwarded-For from a reverse proxy when recording the client address.
    trust_forwarded_for: bool = False
    #: Where files too large for the database live (unit-level observations as Parquet).
    data_dir: Path = Path("missionboard-data")
    page_size_default: int = 100
    page_size_max: int = 1000
    #: Re-analyse conversations in the background as votes arrive (in a child process of the
    #: web app; off when a deployment runs ``missionboard deliberation recompute --loop``).
    deliberation_worker: bool = True
    #: How often the background analyser looks for conversations with new votes.
    deliberation_interval_seconds: float = 5.0


def get_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
