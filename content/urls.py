from django.urls import path

from content import views

app_name = "content"
urlpatterns = [
    path("", views.learn, name="learn"),
    path("<int:page_id>/", views.item, name="item"),
    path("attempts/<int:attempt_id>/", views.attempt, name="attempt"),
]
