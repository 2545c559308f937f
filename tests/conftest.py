"""Shared fixtures.

Real inputs come from the offline mirror of public sources (``../shared/data`` or ``$DIGIDIV_MIRROR``); tests
that need it fail with a clear message when it is absent, because CI always has it. Anything a test writes
goes to a temporary directory, never to the working tree's ``data/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import config, sources

# Fixtures that run the whole build (about 30 s on the 2-core machine) or rest on it: a test that asks for one of
# them, directly or through another fixture, is marked ``slow`` so ``make test-fast`` (``-m "not slow"``) skips it.
FULL_BUILD_FIXTURES = frozenset({"built", "dashboard_data"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if FULL_BUILD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = config.mirror_dir()
    if path is None:
        pytest.fail("the offline mirror of public sources is missing (set DIGIDIV_MIRROR or place ../shared/data)")
    return path


@pytest.fixture(scope="session")
def manifest():
    return sources.load_manifest()


@pytest.fixture(scope="session")
def raw_dir(tmp_path_factory, mirror, manifest) -> Path:
    """A data/raw filled from the mirror once per test session (all roles: build, scale, fixture)."""
    raw = tmp_path_factory.mktemp("raw")
    results = sources.fetch(manifest, raw=raw, mirror=mirror, allow_network=False, roles=("build", "scale", "fixture"))
    bad = [r for r in results if r.status not in ("copied", "present")]
    assert not bad, f"mirror incomplete: {bad}"
    return raw


@pytest.fixture(scope="session")
def built(tmp_path_factory, raw_dir):
    """The full build on the mirror, once per session: returns the BuildContext (``.processed`` is the dir)."""
    from analysis.build import run_build

    processed = tmp_path_factory.mktemp("processed")
    return run_build(raw=raw_dir, processed=processed)


@pytest.fixture(scope="session")
def dashboard_data(built, tmp_path_factory) -> Path:
    """A DIGIDIV_DATA directory whose ``processed/`` is the full build on the mirror."""
    data = tmp_path_factory.mktemp("dashboard_data")
    (data / "processed").symlink_to(Path(built.processed), target_is_directory=True)
    return data
