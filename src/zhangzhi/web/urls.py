from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.dashboard, name="dashboard"),
    path("roster/", views.roster, name="roster"),
    path("s/<int:feature_id>/", views.signboard, name="signboard"),
    path("s/<int:feature_id>/qr.svg", views.signboard_qr, name="signboard-qr"),
]
