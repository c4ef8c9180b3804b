from django.urls import path

from . import views

app_name = "patrols"

urlpatterns = [
    path("m/patrol", views.mobile, name="mobile"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("patrols/", views.patrol_list, name="list"),
    path("patrols/compliance/", views.compliance_page, name="compliance"),
    path("patrols/<int:patrol_id>/", views.patrol_page, name="detail"),
    path("files/patrols/<int:finding_id>", views.finding_photo, name="finding-photo"),
]
