"""Jurisdiction (管辖范围) as one queryset mechanism that every region-owned model inherits.

In the spirit of NetBox's ``RestrictedQuerySet``: a model says once how it belongs to regions, and
every read and write goes through ``Model.objects.visible_to(user)`` or
``Model.objects.editable_by(user)``. Views, API handlers, the admin, exports and commands acting
``--as USER`` never filter by hand, and a lookup by id outside the scope answers exactly like an id
that does not exist (404).

A model declares its place with a ``jurisdiction = Jurisdiction(...)`` class attribute:

- ``read``: lookups to a region path (``"region__path"``); a row is visible when any of them lies
  under one of the user's read paths (``scope.read_paths``).
- ``write``: the lookups for ``editable_by`` (default: the first read lookup), matched against the
  user's write paths (the chief offices they work in).
- ``through``: the name of a foreign key whose target decides (an attachment is visible when its
  case is); the target's own jurisdiction is applied as a subquery.
- ``global_when_null``: rows whose region is empty are reference data (system-wide rules): visible
  to every signed-in user, editable by nobody but the system administrator.
- ``distinct``: the lookups cross a many-to-many relation.
- ``every_row_perm``: a permission whose holders see and change every row (the system
  administrator's reading of raw station frames, which have no region at all).
- ``public``: the rows themselves are public (administrative divisions): any read is allowed, and
  ``visible_to`` still gives the user's own part (their lists, the admin).

A model may add rows a user sees on other grounds (their own patrols, cases they reported) with a
classmethod ``visible_extra(user) -> Q | None``, and rows they may change with ``editable_extra``.

The superuser has no limit (``read_paths`` is ``None``); anonymous users see nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.http import Http404


@dataclass(frozen=True)
class Jurisdiction:
    read: tuple[str, ...] = ("region__path",)
    write: tuple[str, ...] | None = None
    through: str | None = None
    global_when_null: str | None = None
    distinct: bool = False
    public: bool = False
    every_row_perm: str | None = None

    @property
    def write_lookups(self) -> tuple[str, ...]:
        return self.write if self.write is not None else self.read[:1]


def paths_q(paths, field: str) -> Q:
    """Q matching rows whose region path lies under any of `paths` (empty list matches nothing)."""
    q = Q(pk__in=[])
    for p in paths:
        if not p:  # an empty path would match every row: never a scope
            continue
        q |= Q(**{f"{field}__startswith": p})
    return q


def _any_q(paths: list[str], lookups: tuple[str, ...]) -> Q:
    q = Q(pk__in=[])
    for lookup in lookups:
        q |= paths_q(paths, lookup)
    return q


class RestrictedQuerySet(models.QuerySet):
    """The queryset of every region-owned model: ``visible_to`` and ``editable_by``."""

    def _jurisdiction(self) -> Jurisdiction:
        j = getattr(self.model, "jurisdiction", None)
        if not isinstance(j, Jurisdiction):
            raise TypeError(f"{self.model.__name__} uses RestrictedQuerySet but declares no jurisdiction")
        return j

    def _restrict(self, user, write: bool) -> RestrictedQuerySet:
        from . import scope  # scope reads org's models, which use this module

        j = self._jurisdiction()
        paths = scope.write_paths(user) if write else scope.read_paths(user)
        if paths is None:
            return self
        if j.every_row_perm and user is not None and user.is_authenticated and user.has_perm(j.every_row_perm):
            return self
        if j.through:
            parents = self.model._meta.get_field(j.through).related_model.objects.all()
            parents = parents.editable_by(user) if write else parents.visible_to(user)
            return self.filter(**{f"{j.through}__in": parents.values("pk")})
        q = _any_q(paths, j.write_lookups if write else j.read)
        if j.global_when_null and not write and user is not None and user.is_authenticated:
            q |= Q(**{f"{j.global_when_null}__isnull": True})
        extra = getattr(self.model, "editable_extra" if write else "visible_extra", None)
        extra_q = extra(user) if extra is not None and user is not None and user.is_authenticated else None
        if extra_q is not None:
            q |= extra_q
        qs = self.filter(q)
        return qs.distinct() if j.distinct else qs

    def visible_to(self, user) -> RestrictedQuerySet:
        """Rows the user may read: in their jurisdiction, or theirs on the model's own grounds."""
        return self._restrict(user, write=False)

    def editable_by(self, user) -> RestrictedQuerySet:
        """Rows the user may change: under the chief offices they work in."""
        return self._restrict(user, write=True)

    def unrestricted(self, reason: str) -> RestrictedQuerySet:
        """Every row, on purpose: public registries (regions, the roster, signboards), system jobs
        acting for nobody in particular. The reason is required so that each use says why, and the
        bare-query test accepts this call and nothing else."""
        if not reason:
            raise ValueError("say why the query is not restricted")
        return self.all()


def get_visible_or_404(model_or_qs, user, **lookup):
    """The one way to fetch an object by id for a user: 404 outside, as for an id that does not exist."""
    qs = model_or_qs.objects.all() if isinstance(model_or_qs, type) else model_or_qs
    obj = qs.visible_to(user).filter(**lookup).first()
    if obj is None:
        raise Http404("not found")
    return obj


def region_owned_models(include_public: bool = True) -> list[type[models.Model]]:
    """Every installed model whose default manager is restricted: the persona matrix and the
    bare-query test walk this list, so a new app's models are covered once they declare it."""
    return [m for m in apps.get_models()
            if issubclass(getattr(m._default_manager, "_queryset_class", object), RestrictedQuerySet)
            and (include_public or not m.jurisdiction.public)]
