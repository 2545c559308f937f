"""The source manifest and fetch: sha256 verification, immutability of raw files, missing sources."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from analysis import sources
from analysis.errors import SourceError

ORACLES = ("boundaries/dki_kelurahan.geojson", "boundaries/dki_kecamatan.geojson", "boundaries/dki_kabkota.geojson",
           "codes/dki_bps_kemendagri_crosswalk.csv")


def test_manifest_lists_every_mirror_file_with_its_hash(manifest, mirror):
    listed = {f.path for s in manifest.values() for f in s.files}
    # every upstream file of the boundaries, codes and register in the mirror is in the manifest; the
    # collectors' converted files are test oracles only, never build inputs
    assert not listed & set(ORACLES)
    for family in ("boundaries/upstream_sql", "codes/upstream_json", "kelurahan_covariates"):
        on_disk = {str(p.relative_to(mirror)) for p in (mirror / family).rglob("*") if p.is_file()
                   and not p.name.endswith(("_tidy.csv", "_attributes.csv"))}
        assert on_disk == {p for p in listed if p.startswith(family + "/")}, family
    for src in manifest.values():
        assert src.title and src.publisher and src.licence and src.citation and src.upstream_url.startswith("https://")
        for f in src.files:
            assert hashlib.sha256((mirror / f.path).read_bytes()).hexdigest() == f.sha256
        if src.role == "build" and src.mirror_only:  # no upstream bytes: says why, and the build does without it
            assert not src.required and len(src.mirror_only) > 20 and not any(src.url_of(f) for f in src.files), src.id
        elif src.role == "build":  # every other build source can be fetched from upstream, file by file
            assert all(src.url_of(f) and src.url_of(f).startswith("https://raw.githubusercontent.com/") for f in src.files), src.id


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
    assert "network not allowed" in boundaries.detail
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


def test_a_download_with_other_bytes_is_refused_and_nothing_is_written(tmp_path, manifest, mirror):
    """The URL serves different bytes: refused with the source id, both hashes; raw keeps nothing."""
    import dataclasses

    src = manifest["dki_expenditure_kota_2023_2024"]
    served = tmp_path / "served.csv"
    served.write_bytes((mirror / src.files[0].path).read_bytes() + b"tampered\n")
    moved = dataclasses.replace(src, download_url=served.as_uri())
    raw = tmp_path / "raw"
    with pytest.raises(SourceError) as exc:
        sources.fetch_source(moved, raw, mirror=None, allow_network=True)
    message = str(exc.value)
    assert "dki_expenditure_kota_2023_2024" in message and src.files[0].sha256 in message
    assert sources.sha256_of(served) in message
    assert not [p for p in raw.rglob("*") if p.is_file()]


def test_a_download_with_the_right_bytes_is_placed(tmp_path, manifest, mirror):
    import dataclasses

    src = manifest["boundaries_kabkota"]
    files = tuple(dataclasses.replace(f, download_url=(mirror / f.path).as_uri()) for f in src.files)
    result = sources.fetch_source(dataclasses.replace(src, files=files), tmp_path / "raw", None, True)
    assert result.status == "downloaded"
    assert all((tmp_path / "raw" / f.path).is_file() for f in src.files)
