"""Query-parameter types shared by the API's list endpoints: bounds checked at the edge (422), not
discovered by the database (500)."""

import datetime as dt
from typing import Annotated

from pydantic import Field

Offset = Annotated[int, Field(ge=0, le=10_000_000)]
Year = Annotated[int, Field(ge=1900, le=2200)]
Month = Annotated[int, Field(ge=1, le=12)]
# a primary key or foreign key sent as a filter: beyond a 64-bit integer it cannot exist
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]




def date_or_none(raw: str | None) -> dt.date | None:
    """A page's ?date=YYYY-MM-DD: the date, or None when absent or malformed (pages ignore a bad filter)."""
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
