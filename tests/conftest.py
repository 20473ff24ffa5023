"""Shared fixtures: the shipped catalogue, bundled scenarios, a scenario writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from virtsim.catalog import Catalog, load_catalog

# Property tests explore the same examples on every run, so CI is reproducible.
settings.register_profile("virtsim", derandomize=True, deadline=None)
settings.load_profile("virtsim")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
