from django.urls import path, re_path

from . import open311, views

app_name = "cases"

FMT = r"(?P<fmt>json|xml)"

urlpatterns = [
    path("report/", views.public_report, name="report"),
    path("report/nearest", views.report_nearest, name="report-nearest"),
    path("r/", views.public_track, name="track"),
    path("r/<str:code>/", views.public_case, name="public"),
    path("r/<str:code>/rate", views.public_rate, name="public-rate"),
    path("r/<str:code>/flag", views.public_flag, name="public-flag"),
    path("r/<str:code>/photos/<int:attachment_id>", views.public_photo, name="public-photo"),
    path("files/cases/<int:attachment_id>", views.attachment_file, name="file"),
    path("cases/", views.inbox, name="inbox"),
    path("cases/list/", views.case_list, name="list"),
    path("cases/stats/", views.stats_page, name="stats"),
    path("cases/moderation/", views.moderation, name="moderation"),
    path("cases/import-drone/", views.drone_import, name="drone-import"),
    path("cases/export.csv", views.export_csv, name="export-csv"),
    path("cases/export.xlsx", views.export_xlsx, name="export-xlsx"),
    path("cases/<int:case_id>/", views.case_detail, name="detail"),
    path("cases/<int:case_id>/act", views.case_act, name="act"),
    path("cases/<int:case_id>/moderate", views.moderate, name="moderate"),
    re_path(r"^open311/v2/$", open311.index, name="open311-index"),
    re_path(rf"^open311/v2/discovery\.{FMT}$", open311.discovery, name="open311-discovery"),
    re_path(rf"^open311/v2/services\.{FMT}$", open311.services, name="open311-services"),
    re_path(rf"^open311/v2/services/(?P<code>[\w-]+)\.{FMT}$", open311.service_definition,
            name="open311-service"),
    re_path(rf"^open311/v2/requests\.{FMT}$", open311.requests_view, name="open311-requests"),
    re_path(rf"^open311/v2/requests/(?P<code>[\w-]+)\.{FMT}$", open311.request_detail, name="open311-request"),
    re_path(rf"^open311/v2/tokens/(?P<token>[\w-]+)\.{FMT}$", open311.token_detail, name="open311-token"),
]
