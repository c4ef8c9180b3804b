from django.urls import path

from . import views

app_name = "org"
urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.xlsx", views.audit_export, {"fmt": "xlsx"}, name="audit-export-xlsx"),
]
