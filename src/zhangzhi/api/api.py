"""The HTTP API under /api/v1, assembled from each app's router, with one error shape.

Every 4xx answers {"error": {"code": …, "message": …, "fields": {…}}}; `fields` maps the path of
each bad input ("body.features[3].properties.kind") to what was wrong with it.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import DataError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from zhangzhi.lib.errors import ZhangzhiError

from .auth import AUTH

api = NinjaAPI(
    title="Zhangzhi 长制 API",
    version="1",
    description="Open API of Zhangzhi, the platform for China's chief-responsibility systems.",
    auth=AUTH,
    urls_namespace="api",
)


def error(request, status: int, code: str, message: str, fields: dict | None = None):
    return api.create_response(request, {"error": {"code": code, "message": message, "fields": fields or {}}},
                               status=status)


def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@api.exception_handler(ValidationError)
def on_validation(request, exc: ValidationError):
    fields = {}
    for e in exc.errors:
        fields[_loc(e.get("loc", ()))] = e.get("msg", "invalid")
    first = next(iter(fields.items()), ("body", "invalid"))
    return error(request, 422, "invalid", f"{first[0]}: {first[1]}", fields)


@api.exception_handler(ZhangzhiError)
def on_domain_error(request, exc: ZhangzhiError):
    return error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(AuthenticationError)
def on_auth(request, exc):
    return error(request, 401, "unauthenticated", "log in or send Authorization: Bearer <token>")


@api.exception_handler(AuthorizationError)
def on_authz(request, exc):
    return error(request, 403, "forbidden", str(exc) or "not allowed")


@api.exception_handler(PermissionDenied)
def on_denied(request, exc):
    return error(request, 403, "forbidden", str(exc) or "not allowed")


@api.exception_handler(Http404)
def on_404(request, exc):
    return error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(ObjectDoesNotExist)
def on_missing(request, exc):
    return error(request, 404, "not_found", str(exc) or "not found")


@api.exception_handler(OverflowError)
def on_overflow(request, exc):
    # a number no database column can hold (SQLite raises this before the query runs)
    return error(request, 422, "invalid", "a number in the request is out of range")


@api.exception_handler(DataError)
def on_data_error(request, exc):
    # PostgreSQL's "value out of range" and the like: the input, not the server, is wrong
    return error(request, 422, "invalid", "a value in the request does not fit: " + str(exc).splitlines()[0])


@api.exception_handler(HttpError)
def on_http(request, exc: HttpError):
    codes = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method",
             409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited"}
    return error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def _register() -> None:
    from zhangzhi.features.api import router as features_router
    from zhangzhi.org.api import router as org_router

    api.add_router("/", org_router)
    api.add_router("/", features_router)
    for module in ("zhangzhi.patrols.api", "zhangzhi.cases.api", "zhangzhi.monitoring.api"):
        try:
            mod = __import__(module, fromlist=["router"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        api.add_router("/", mod.router)


_register()
