from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("monitoring/", views.stations, name="stations"),
    path("monitoring/stations/<int:station_id>/", views.station, name="station"),
]
