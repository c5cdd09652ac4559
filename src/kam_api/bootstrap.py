"""Builds the application service from settings (used by the CLI and, later, create_app)."""

from __future__ import annotations

from kam_api.settings import Settings
from kam_domain.application import KamApplication


def open_application(settings: Settings) -> KamApplication:
    """The application service on the store the settings name."""
    return KamApplication(
        env=settings.library_env(),
        tier_caps=settings.tier_caps,
        snapshot_interval=settings.snapshot_interval,
        aggregate_cache_size=settings.aggregate_cache_size,
        liveness_ttl=settings.liveness_ttl,
    )
