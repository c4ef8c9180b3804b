"""Jurisdiction (管辖范围): which regions a user may read and which they may change.

A region path ("/1/45/") covers that region and everything below it. `None` means no limit
(superusers). Reads: the regions of the user's units and current posts. Writes: the regions of
the chief offices (河长办) the user works in — a county office edits its county and below, a
chief edits nothing by virtue of a post alone.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from zhangzhi.lib.errors import Forbidden, InvalidInput

from .models import Post, Region, Unit


def _person(user):
    if not user or not user.is_authenticated:
        return None
    return getattr(user, "person", None)


def _minimal(paths: set[str]) -> list[str]:
    """Drop paths already covered by a shorter one, so filters stay small."""
    out: list[str] = []
    for p in sorted((p for p in paths if p and p != "/"), key=len):  # never a scope over everything
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


def read_paths(user) -> list[str] | None:
    if user is not None and user.is_authenticated and user.is_superuser:
        return None
    cached = getattr(user, "_zz_read_paths", None)
    if cached is not None:
        return cached
    person = _person(user)
    paths: set[str] = set()
    if person is not None:
        paths.update(Unit.objects.filter(people=person).values_list("region__path", flat=True))
        paths.update(Post.objects.current().filter(person=person).values_list("region__path", flat=True))
    result = _minimal(paths)
    if user is not None:
        user._zz_read_paths = result
    return result


def write_paths(user) -> list[str] | None:
    if user is not None and user.is_authenticated and user.is_superuser:
        return None
    cached = getattr(user, "_zz_write_paths", None)
    if cached is not None:
        return cached
    person = _person(user)
    paths: set[str] = set()
    if person is not None:
        paths.update(
            Unit.objects.filter(people=person, kind=Unit.Kind.OFFICE).values_list("region__path", flat=True)
        )
    result = _minimal(paths)
    if user is not None:
        user._zz_write_paths = result
    return result


def covers(paths: list[str] | None, region: Region | None) -> bool:
    if paths is None:
        return True
    if region is None:
        return False
    return any(region.path.startswith(p) for p in paths)


def can_read(user, region: Region | None) -> bool:
    return covers(read_paths(user), region)


def can_write(user, region: Region | None) -> bool:
    return covers(write_paths(user), region)


def require_write(user, region: Region | None, what: str = "") -> None:
    if not can_write(user, region):
        name = region.name if region is not None else "-"
        raise PermissionDenied(f"{what or 'this'} is outside your jurisdiction ({name})")


class OfficeOnly(Forbidden, PermissionDenied):
    """What `require_office` raises: a 403 answer from the API (a Forbidden) and from pages (a
    PermissionDenied), so one check serves both."""


def is_office(user) -> bool:
    """Staff of a chief office (河长办), or a superuser."""
    return write_paths(user) != []


def require_office(user) -> None:
    if not is_office(user):
        raise OfficeOnly("only river chief office (河长办) staff may do this")


def region_by_code(code: str, field: str = "region") -> Region:
    """The region with this code (GB/T 2260 or statistical); InvalidInput naming `field` otherwise.

    Region codes are public, so an unknown code and one outside the caller's jurisdiction need not
    look alike; what the region then filters is scoped by the caller's own queryset."""
    region = Region.objects.unrestricted("region codes are public").filter(code=str(code).strip()).first()
    if region is None:
        raise InvalidInput(f"unknown region code {code!r}", {field: "unknown"})
    return region


def within_region(qs, code: str | None, path_field: str = "region__path", field: str = "region"):
    """Narrow `qs` to the region with this code and everything below it; no code leaves it as is."""
    if not code:
        return qs
    return qs.filter(**{f"{path_field}__startswith": region_by_code(code, field).path})
