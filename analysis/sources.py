"""The source manifest and ``fetch``: place every public source, verified, in ``data/raw``.

Sources come from the offline mirror (``config.mirror_dir()``) or, for files with a ``download_url`` (the
upstream raw file at its pinned commit) and when not offline, from the network. Every file is checked against
its sha256: a download with other bytes is refused with the source id, the expected and the actual hash, and
nothing in ``data/raw`` is written. A raw file that is already in
place with the expected hash is left alone; one whose content differs is **never overwritten**: fetch stops
with an error naming the file, because raw data is immutable and a changed file means somebody edited it or
upstream changed (see cookiecutter-data-science's "raw data is immutable").
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from analysis import config
from analysis.errors import SourceError


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the mirror and to data/raw
    sha256: str
    download_url: str | None = None  # the upstream raw file at the pinned commit


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    upstream_url: str
    licence: str
    citation: str
    files: tuple[SourceFile, ...]
    required: bool = True
    download_url: str | None = None
    role: str = "build"  # build | scale | fixture | embedded
    adds: str = ""  # what a build gains from this source (shown when it is missing)
    mirror_only: str = ""  # why a build source has no upstream bytes to download (e.g. transcribed rows)

    def url_of(self, f: SourceFile) -> str | None:
        """The download URL of ``f``: its own, or the source's when the source has one file."""
        return f.download_url or (self.download_url if len(self.files) == 1 else None)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "publisher": self.publisher,
            "upstream_url": self.upstream_url,
            "licence": self.licence,
            "citation": self.citation,
        }


def load_manifest(path: Path | None = None) -> dict[str, Source]:
    path = Path(path or config.MANIFEST_PATH)
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    sources = {}
    for entry in doc.get("source", []):
        files = tuple(SourceFile(f["path"], f["sha256"].lower(), f.get("download_url")) for f in entry["files"])
        src = Source(
            id=entry["id"],
            title=entry["title"],
            publisher=entry["publisher"],
            upstream_url=entry["upstream_url"],
            licence=entry["licence"],
            citation=entry["citation"],
            files=files,
            required=entry.get("required", True),
            download_url=entry.get("download_url"),
            role=entry.get("role", "build"),
            adds=entry.get("adds", ""),
            mirror_only=entry.get("mirror_only", ""),
        )
        if src.id in sources:
            raise SourceError(f"manifest {path}: source id {src.id!r} appears twice")
        sources[src.id] = src
    return sources


def manifest_dicts(manifest: dict[str, Source]) -> dict[str, dict]:
    return {sid: s.as_dict() for sid, s in manifest.items()}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class FetchResult:
    source_id: str
    status: str  # present | copied | downloaded | missing | failed
    detail: str = ""


def _place(src_path: Path, dest: Path, expected: str) -> None:
    actual = sha256_of(src_path)
    if actual != expected:
        raise SourceError(
            f"{src_path}: sha256 {actual[:12]}... does not match the manifest ({expected[:12]}...); "
            "the mirror copy is not the file the build was written for"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.copyfile(src_path, tmp)
    tmp.replace(dest)


def _download(url: str, dest: Path, expected: str, source_id: str = "", timeout: float = 30) -> None:
    """Download ``url`` to ``dest`` only if its bytes have the ``expected`` sha256.

    The bytes go to a temporary file outside the destination's name; a mismatch deletes it and raises
    ``SourceError`` naming the source id, the expected and the actual hash, so nothing in raw is written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as fh:  # noqa: S310
            shutil.copyfileobj(resp, fh)
        actual = sha256_of(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if actual != expected:
        tmp.unlink()
        raise SourceError(
            f"source {source_id}: download refused, sha256 mismatch for {dest.name} from {url}: expected {expected}, "
            f"got {actual}. Nothing in {dest.parent} was written; upstream changed or the download was altered."
        )
    tmp.replace(dest)


def fetch_source(src: Source, raw: Path, mirror: Path | None, allow_network: bool) -> FetchResult:
    placed = []
    for f in src.files:
        dest = raw / f.path
        if dest.exists():
            actual = sha256_of(dest)
            if actual != f.sha256:
                raise SourceError(
                    f"raw file {dest} exists but its content changed (sha256 {actual[:12]}..., manifest "
                    f"{f.sha256[:12]}...). Raw data is immutable: it was not overwritten. Move it away or "
                    "update the manifest deliberately."
                )
            placed.append("present")
            continue
        if mirror is not None and (mirror / f.path).is_file():
            _place(mirror / f.path, dest, f.sha256)
            placed.append("copied")
            continue
        url = src.url_of(f)
        if allow_network and url:
            try:
                _download(url, dest, f.sha256, src.id)
                placed.append("downloaded")
                continue
            except OSError as exc:  # no network, HTTP error: reported; a hash mismatch raises
                return FetchResult(src.id, "failed", f"{f.path}: {exc}")
        where = "not in the mirror" if mirror is not None else "no mirror configured"
        how = " (network not allowed)" if url else " (only available from the mirror)"
        return FetchResult(src.id, "missing", f"{f.path}: {where}{how}")
    status = "present" if all(p == "present" for p in placed) else ("downloaded" if "downloaded" in placed else "copied")
    return FetchResult(src.id, status)


def fetch(
    manifest: dict[str, Source] | None = None,
    raw: Path | None = None,
    mirror: Path | None | str = "default",
    allow_network: bool | None = None,
    roles: tuple[str, ...] = ("build",),
    progress=None,
) -> list[FetchResult]:
    """Place every source of the given roles in ``raw``; return one result per source.

    Raises ``SourceError`` for a hash mismatch or a changed raw file; a missing source is reported, not
    raised, because the build has embedded defaults.
    """
    manifest = manifest or load_manifest()
    raw = Path(raw or config.raw_dir())
    if mirror == "default":
        mirror = config.mirror_dir()
    if allow_network is None:
        allow_network = not config.offline()
    results = []
    selected = [s for s in manifest.values() if s.role in roles]
    for src in progress(selected) if progress else selected:
        results.append(fetch_source(src, raw, mirror, allow_network))
    return results


def available(source_id: str, manifest: dict[str, Source], raw: Path | None = None) -> bool:
    """True when every file of ``source_id`` is in ``raw`` (hashes are checked at fetch time)."""
    raw = Path(raw or config.raw_dir())
    src = manifest[source_id]
    return all((raw / f.path).is_file() for f in src.files)


def raw_path(source_id: str, manifest: dict[str, Source], raw: Path | None = None, index: int = 0) -> Path:
    raw = Path(raw or config.raw_dir())
    return raw / manifest[source_id].files[index].path
