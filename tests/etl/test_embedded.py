"""The embedded default (analysis/embedded): current with upstream, small, licensed, and enough for the map."""

from __future__ import annotations

from analysis import config
from analysis.etl import boundaries
from analysis.etl.embed import embed

EMBEDDED_FILES = [
    "boundaries/boundaries_kelurahan.geojson",
    "boundaries/boundaries_kecamatan.geojson",
    "boundaries/boundaries_kabkota.geojson",
    f"boundaries/{boundaries.LICENCE_NAME}",
    "boundaries/README.md",
    "dki_bps_kemendagri_crosswalk.csv",
]


def test_embedded_copies_are_current(tmp_path, mirror):
    """`python -m analysis embed-boundaries` from the upstream bytes regenerates exactly what is shipped."""
    written = embed(out_dir=tmp_path / "embedded", mirror=mirror, allow_network=False)
    assert sorted(p.relative_to(tmp_path / "embedded").as_posix() for p in written) == sorted(EMBEDDED_FILES)
    stale = [rel for rel in EMBEDDED_FILES
             if (tmp_path / "embedded" / rel).read_bytes() != (config.EMBEDDED_DIR / rel).read_bytes()]
    assert stale == [], "run: python -m analysis embed-boundaries"


def test_embedded_map_is_small_and_carries_the_mit_notice(mirror):
    sizes = {rel: (config.EMBEDDED_DIR / rel).stat().st_size for rel in EMBEDDED_FILES if rel.endswith(".geojson")}
    assert sum(sizes.values()) < 200_000, sizes
    notice = (config.EMBEDDED_DIR / "boundaries" / boundaries.LICENCE_NAME).read_bytes()
    assert notice == (mirror / "boundaries" / "upstream_sql" / "LICENSE").read_bytes()
    assert b"Copyright (c) 2024 Cahya DSN" in notice and b"Permission is hereby granted" in notice


def test_embed_without_upstream_says_what_it_needs(tmp_path):
    import pytest

    from analysis.errors import SourceError

    with pytest.raises(SourceError, match="boundaries_kelurahan"):
        embed(out_dir=tmp_path / "out", mirror=None, allow_network=False)
    assert not (tmp_path / "out").exists()
