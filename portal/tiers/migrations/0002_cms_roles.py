"""What the CMS groups may do with tiers: programme administrators edit the tier definitions and the tier and
expiry settings; both groups grant tiers (and end grants) and read tier changes, account managers only within
their portfolio (enforced by portal.tiers.services and the CMS's PortfolioPermissionPolicy, not by these)."""

from django.db import migrations

MANAGER_PERMISSIONS = [
    ("tiers", "view_tier"),
    ("tiers", "add_tiergrant"),
    ("tiers", "change_tiergrant"),
    ("tiers", "view_tiergrant"),
    ("tiers", "view_tierchange"),
]
ADMINISTRATOR_PERMISSIONS = [
    *MANAGER_PERMISSIONS,
    ("tiers", "add_tier"),
    ("tiers", "change_tier"),
    ("tiers", "delete_tier"),
    ("tiers", "change_tiersettings"),
    ("tiers", "view_tiersettings"),
]
GROUPS = {"Programme administrators": ADMINISTRATOR_PERMISSIONS, "Account managers": MANAGER_PERMISSIONS}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    tiers = apps.get_app_config("tiers")
    tiers.models_module = True
    create_permissions(tiers, apps=apps, verbosity=0)
    tiers.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *(Permission.objects.get(content_type__app_label=a, codename=c) for a, c in wanted)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label="tiers", codename__in=[c for _, c in wanted]))


class Migration(migrations.Migration):
    dependencies = [
        ("tiers", "0001_initial"),
        ("accounts", "0002_cms_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
