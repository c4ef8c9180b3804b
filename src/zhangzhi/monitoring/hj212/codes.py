"""HJ 212 pollutant codes and units: the 2005 → 2017 code map and the conversion of concentrations to mg/L."""

from __future__ import annotations

__all__ = ["AIR_SYSTEMS", "DEFAULT_UNITS", "LEGACY_CODES", "canonical_code", "default_unit", "normalise"]

# HJ 212-2017 Table B.1 "原编码" column (NOTES.md §6): HJ/T 212-2005 water codes → 2017 codes.
# The 2005 flue-gas codes (01, 02, 03, B02, S01 …) are not mapped: the notes give no 2017 equivalents.
LEGACY_CODES: dict[str, str] = {
    "B01": "w00000", "001": "w01001", "002": "w01002", "003": "w01012", "010": "w01017",
    "011": "w01018", "015": "w01020", "550": "w02003", "570": "w03001", "571": "w03002",
    "520": "w19002", "039": "w20012", "037": "w20023", "040": "w20038", "038": "w20061",
    "041": "w20089", "036": "w20092", "020": "w20111", "021": "w20113", "022": "w20115",
    "023": "w20116", "024": "w20117", "026": "w20119", "027": "w20120", "028": "w20121",
    "029": "w20122", "030": "w20123", "031": "w20124", "032": "w20125", "033": "w20126",
    "034": "w20127", "035": "w20128", "065": "w21001", "060": "w21003", "062": "w21004",
    "063": "w21006", "064": "w21007", "101": "w21011", "070": "w21016", "072": "w21017",
    "071": "w21019", "090": "w21022", "080": "w22001", "110": "w23002", "540": "w25043",
    "350": "w33001", "351": "w33007", "061": "w99001",
}
# Systems whose 3-digit codes are vendor or flue-gas codes, where the water mapping would be wrong
# (e.g. a vendor '101' on a ST=31 chimney is not total phosphorus).
AIR_SYSTEMS = frozenset({"22", "27", "31", "39", "51"})


def canonical_code(code: str, st: str | None = None) -> str:
    """Map a HJ/T 212-2005 water code to its 2017 code; other codes are returned unchanged."""
    if st in AIR_SYSTEMS:
        return code
    return LEGACY_CODES.get(code, code)


_UG = "μg/L"
# Default concentration units of HJ 212-2017 Table B.1 for water codes that are not mg/L
# (NOTES.md §6, "Unit trap"): values in these units must be converted before GB 3838 grading.
DEFAULT_UNITS: dict[str, str] = {
    "w00000": "L/s", "w01001": "", "w01002": "[色]度", "w01010": "℃", "w01014": "μS/cm",
    "w02003": "个/L", "w02006": "个/L", "w03001": "Bq/L", "w03002": "Bq/L",
    "w20089": "ng/L", "w20111": _UG, "w20113": "ng/L", "w20115": _UG, "w20117": _UG, "w20119": _UG,
    "w20120": _UG, "w20127": _UG, "w20128": _UG, "w20142": _UG, "w20143": _UG, "w25043": _UG,
    "w33001": "ng/L", "w33007": "ng/L",
}
_TO_MG_PER_L = {"mg/L": 1.0, "μg/L": 1e-3, "µg/L": 1e-3, "ug/L": 1e-3, "ng/L": 1e-6, "g/L": 1e3}


def default_unit(code: str) -> str:
    """HJ 212 default concentration unit of a water code (mg/L unless Table B.1 says otherwise)."""
    code = LEGACY_CODES.get(code, code)
    return DEFAULT_UNITS.get(code, "mg/L")


def normalise(code: str, value: float, unit: str | None = None) -> tuple[float, str]:
    """Convert a concentration to mg/L.

    ``unit`` is the unit ``value`` is in; ``None`` means the code's HJ 212 default unit. Mass
    concentrations come back in mg/L; other quantities (pH, ℃, 个/L, L/s …) are returned unchanged
    with their unit.
    """
    if unit is None:
        unit = default_unit(code)
    factor = _TO_MG_PER_L.get(unit.replace(" ", ""))
    if factor is None:
        return value, unit
    return value * factor, "mg/L"
