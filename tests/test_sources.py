"""The source manifest and fetch: sha256 verification, immutability of raw files, missing sources."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from analysis import sources
from analysis.errors import SourceError


def test_manifest_lists_every_mirror_file_with_its_hash(manifest, mirror):
    listed = {f.path for s in manifest.values() for f in s.files}
    # every public data file in the mirror is in the manifest, except the collectors' reference conversions
    on_disk = {
        str(p.relative_to(mirror))
        for p in mirror.rglob("*")
        if p.is_file() and p.name != "SOURCES.md" and not p.name.endswith(("_tidy.csv", "_attributes.csv"))
    }
    assert on_disk == listed
    for src in manifest.values():
        assert src.title and src.publisher and src.licence and src.citation and src.upstream_url.startswith("https://")
        for f in src.files:
            assert hashlib.sha256((mirror / f.path).read_bytes()).hexdigest() == f.sha256


def test_fetch_copies_then_reports_present(tmp_path, manifest, mirror):
    raw = tmp_path / "raw"
    first = sources.fetch(manifest, raw=raw, mirror=mirror, allow_network=False)
    assert {r.status for r in first} == {"copied"}
    assert {r.source_id for r in first} == {s.id for s in manifest.values() if s.role == "build"}
    second = sources.fetch(manifest, raw=raw, mirror=mirror, allow_network=False)
    assert {r.status for r in second} == {"present"}


def test_fetch_never_overwrites_a_changed_raw_file(tmp_path, manifest, mirror):
    raw = tmp_path / "raw"
    sources.fetch(manifest, raw=raw, mirror=mirror, allow_network=False)
    target = raw / manifest["bps_internet_households_2022"].files[0].path
    target.write_text("edited by hand\n")
    with pytest.raises(SourceError, match="content changed"):
        sources.fetch(manifest, raw=raw, mirror=mirror, allow_network=False)
    assert target.read_text() == "edited by hand\n"


def test_fetch_rejects_a_mirror_file_with_the_wrong_hash(tmp_path, manifest, mirror):
    fake_mirror = tmp_path / "mirror"
    shutil.copytree(mirror, fake_mirror)
    path = fake_mirror / manifest["dki_expenditure_kota_2023_2024"].files[0].path
    path.chmod(0o644)
    path.write_text(path.read_text().replace("1315101", "1315102"))
    with pytest.raises(SourceError, match="does not match the manifest"):
        sources.fetch(manifest, raw=tmp_path / "raw", mirror=fake_mirror, allow_network=False)


def test_fetch_without_mirror_or_network_reports_missing(tmp_path, manifest):
    results = sources.fetch(manifest, raw=tmp_path / "raw", mirror=None, allow_network=False)
    assert {r.status for r in results} == {"missing"}
    boundaries = next(r for r in results if r.source_id == "boundaries_kelurahan")
    assert "only available from the mirror" in boundaries.detail
    assert not any((tmp_path / "raw").rglob("*.*"))


def test_manifest_with_duplicate_ids_is_refused(tmp_path):
    text = Path(sources.config.MANIFEST_PATH).read_text()
    starts = [i for i in range(len(text)) if text.startswith("\n[[source]]", i)]
    block = text[starts[0] : starts[1]]
    bad = tmp_path / "sources.toml"
    bad.write_text(block + "\n" + block)
    with pytest.raises(SourceError, match="appears twice"):
        sources.load_manifest(bad)


def test_fetch_cli_reports_each_source(tmp_path, mirror, capsys):
    from analysis.cli import main

    assert main(["fetch", "--raw", str(tmp_path / "raw"), "--mirror", str(mirror), "--offline"]) == 0
    out = capsys.readouterr().out
    assert "copied     boundaries_kelurahan" in out
    assert main(["fetch", "--raw", str(tmp_path / "raw2"), "--mirror", str(tmp_path / "nothing"), "--offline", "--strict"]) == 1
