"""Area codes every stage shares.

Areas are identified by Kemendagri codes (``31`` DKI Jakarta, ``31.71`` Jakarta Pusat, ...). BPS numbers the
kota differently (BPS 3171 is Jakarta Selatan): join the two only through the crosswalk, never by prefix.
"""

from __future__ import annotations

CITY_CODE = "31"
"""DKI Jakarta's Kemendagri province code: the ``area`` of every city-level row."""
