"""What the CMS groups may do with referral applications: both groups read them and decide them
(change_application is approving or rejecting); which applications each sees is the portfolio rule
(account managers: those referred by their partners; administrators: all, the unreferred too), enforced by
referrals.services and the CMS's PortfolioPermissionPolicy, not by these."""

from django.db import migrations

PERMISSIONS = [("referrals", "view_application"), ("referrals", "change_application")]
GROUPS = ["Programme administrators", "Account managers"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    referrals = apps.get_app_config("referrals")
    referrals.models_module = True
    create_permissions(referrals, apps=apps, verbosity=0)
    referrals.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(Permission.objects.get(content_type__app_label=a, codename=c) for a, c in PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [c for _, c in PERMISSIONS]
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="referrals", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0001_initial"),
        ("accounts", "0002_cms_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
