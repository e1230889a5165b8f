"""Word lists, places and personas of the demo city, read from ``data/places.json``, ``data/people.json`` and
``data/words.json`` (the names below keep the generator's historical spelling)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

DATA_DIR: Final = Path(__file__).resolve().parent / "data"


def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


_PLACES: Final = _load("places.json")
_PEOPLE: Final = _load("people.json")
_WORDS: Final = _load("words.json")

#: Current county-level divisions of 长沙市 used for residents: code → (name, streets).
DISTRICTS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    k: (v["name"], tuple(v["streets"])) for k, v in _PLACES["districts"].items()}
_DIVISIONS: Final = tuple(DISTRICTS)
#: Retired division codes: code → (name, successor). Never reused, still in old ID numbers.
RETIRED_DIVISIONS: Final[Mapping[str, tuple[str, str]]] = {
    k: (v["name"], v["successor"]) for k, v in _PLACES["retired_divisions"].items()}
_COMMUNITIES: Final[tuple[str, ...]] = tuple(_PLACES["communities"])
_STATION_SUFFIX: Final[tuple[str, ...]] = tuple(_PLACES["station_suffixes"])
_SCHOOLS: Final[tuple[tuple[str, str], ...]] = tuple((a, b) for a, b in _PLACES["schools"])
_BANKS: Final[tuple[str, ...]] = tuple(_PLACES["banks"])
_SURNAMES: Final[tuple[str, ...]] = tuple(_PEOPLE["surnames"])
_GIVEN_M: Final[tuple[str, ...]] = tuple(_PEOPLE["given_male"])
_GIVEN_F: Final[tuple[str, ...]] = tuple(_PEOPLE["given_female"])
_MINORITIES: Final[tuple[tuple[str, int], ...]] = tuple((a, int(b)) for a, b in _PEOPLE["minorities"])
PERSONA_DATA: Final[tuple[Mapping[str, str], ...]] = tuple(_PEOPLE["personas"])
_DRIVING_CLASSES: Final[tuple[str, ...]] = tuple(_WORDS["driving_classes"])
_MAJORS: Final[tuple[str, ...]] = tuple(_WORDS["majors"])
_COMPANY_WORDS: Final[tuple[str, ...]] = tuple(_WORDS["company_words"])
_COMPANY_TRADES: Final[tuple[tuple[str, str], ...]] = tuple((a, b) for a, b in _WORDS["company_trades"])
_VEHICLE_MODELS: Final[tuple[str, ...]] = tuple(_WORDS["vehicle_models"])
_VIN_CHARS: Final[str] = _WORDS["vin_chars"]
_PLATE_CHARS: Final[str] = _WORDS["plate_chars"]
