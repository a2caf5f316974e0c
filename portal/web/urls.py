from django.urls import path

from portal.web import views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("activity/", views.activity, name="activity"),
    path("activity/export.csv", views.activity_export, name="activity_export"),
    path("orders/", views.orders, name="orders"),
    path("orders/<path:external_id>/", views.order_detail, name="order_detail"),
    path("invoices/", views.invoices, name="invoices"),
    path("tier/", views.tier, name="tier"),
    path("ping/", views.ping, name="ping"),
]

# --- Company people, invitations and the person's own account ----------------------------------------
# (issue 5: people, account, sign-in protection; kept in one block so the two halves of the issue merge)
from portal.web import account_views, people_views  # noqa: E402

urlpatterns += [
    path("company/people/", people_views.people, name="people"),
    path("company/people/invite/", people_views.invite, name="people_invite"),
    path(
        "company/people/invitations/<int:invitation_id>/resend/",
        people_views.resend_invitation,
        name="invitation_resend",
    ),
    path(
        "company/people/invitations/<int:invitation_id>/revoke/",
        people_views.revoke_invitation,
        name="invitation_revoke",
    ),
    path("company/people/<int:membership_id>/role/", people_views.change_role, name="person_role"),
    path("company/people/<int:membership_id>/remove/", people_views.remove_person, name="person_remove"),
    path("invitations/<str:token>/", people_views.invitation, name="invitation"),
    path("account/", account_views.account, name="account"),
    path("account/sign-out-everywhere/", account_views.sign_out_everywhere, name="sign_out_everywhere"),
]

# --- Referrals: the company's referral link, sending it, and its referrals' status ---------------------
from portal.web import referral_views  # noqa: E402

urlpatterns += [
    path("referrals/", referral_views.refer, name="refer"),
    path("referrals/send/", referral_views.send_link, name="refer_send"),
    path("referrals/status/", referral_views.referral_status, name="referral_status"),
]
