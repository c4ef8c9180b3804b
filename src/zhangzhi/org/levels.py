"""Administrative levels (行政层级) and their rank: pure data shared by regions, features and posts."""

PROVINCE, CITY, COUNTY, ZONE, TOWNSHIP, VILLAGE = "province", "city", "county", "zone", "township", "village"

# A functional zone (功能区, e.g. 高新区) stands at county rank but has no GB/T 2260 code.
RANK = {PROVINCE: 1, CITY: 2, COUNTY: 3, ZONE: 3, TOWNSHIP: 4, VILLAGE: 5}

# Levels a chief post or a managed object can have (a zone's chiefs are county-level chiefs).
CHIEF_LEVELS = (PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE)


def rank(level: str) -> int:
    try:
        return RANK[level]
    except KeyError:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(RANK)}") from None


def chief_level(region_level: str) -> str:
    """The chief level that governs a region of this level (a zone is run at county level)."""
    return COUNTY if region_level == ZONE else region_level
