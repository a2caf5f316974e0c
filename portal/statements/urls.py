from django.urls import path

from portal.statements import views

app_name = "statements"
urlpatterns = [
    path("", views.statements, name="list"),
    path("<str:month>.pdf", views.download, name="download"),
]
