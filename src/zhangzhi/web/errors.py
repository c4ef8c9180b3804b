"""Error pages: 403, 404 and 500 in the user's language, inside the site's frame, with a way back.

Pages get the base template (menu, language switch); the API keeps its one JSON error shape even
for a URL no route matches. The 500 page renders without a request context (as Django's own does),
because the failure may be in what a context processor needs, and falls back to plain HTML if even
that fails.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

API_PREFIXES = ("/api/",)
FALLBACK_500 = ('<!doctype html><html lang="zh-hans"><meta charset="utf-8"><title>500</title>'
                '<h1>服务器出错 (500)</h1><p>请稍后再试。Please try again later.</p><p><a href="/">首页 Home</a></p>')


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _page(request, template: str, status: int):
    # the exception's text is for logs: it may be English or name what the user must not learn
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = ""  # "previous page" only within this site
    return HttpResponse(loader.render_to_string(template, {"status": status, "back": back}, request), status=status)


@requires_csrf_token
def permission_denied(request, exception=None):
    if _is_api(request):
        return _api_error(403, "forbidden", "you may not do this")
    return _page(request, "403.html", 403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if _is_api(request):
        return _api_error(404, "not_found", f"no such resource: {request.path}")
    return _page(request, "404.html", 404)


@requires_csrf_token
def server_error(request):
    if _is_api(request):
        return _api_error(500, "server_error", "internal error; it has been logged")
    try:
        return HttpResponseServerError(loader.get_template("500.html").render())
    except Exception:  # the error page must answer whatever broke
        return HttpResponseServerError(FALLBACK_500)
