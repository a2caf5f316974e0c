from django.urls import path

from rewards_catalog import views

app_name = "rewards_catalog"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("redemptions/", views.redemptions, name="redemptions"),
    path("redemptions/<int:pk>/", views.redemption_detail, name="redemption"),
    path("redemptions/<int:pk>/cancel/", views.cancel_redemption, name="cancel"),
]
