"""Imported by the upload sandbox's forkserver (``analysis.survey.sandbox.PRELOAD``) and nowhere else: the
ingestion with everything it imports lazily, and the parsed questionnaire and pandera schemas, so that each
forked child starts warm (importing these took 1-4 s per upload on a loaded machine)."""

from __future__ import annotations

import pandera.errors  # noqa: F401
import pandera.pandas  # noqa: F401
import python_calamine  # noqa: F401
import rapidfuzz.fuzz  # noqa: F401
import rapidfuzz.process  # noqa: F401

import analysis.etl.names  # noqa: F401
import analysis.upload  # noqa: F401
from analysis.survey import schema
from analysis.survey.ingest import default_form

default_form()
schema.HOUSEHOLDS.pandera()
schema.PERSONS.pandera()
