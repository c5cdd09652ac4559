"""Stakeholders: commands and reads (see the module's routes)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["stakeholders"])
