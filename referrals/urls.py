from django.urls import path

from referrals import views

app_name = "referrals"
urlpatterns = [
    path("", views.apply, name="apply"),
    path("thanks/", views.thanks, name="thanks"),
    path("<str:code>/", views.apply, name="apply_with_code"),
]
