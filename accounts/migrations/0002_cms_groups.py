"""The CMS groups: account managers manage their portfolio's partners and people; programme
administrators do the same for every partner. Wagtail's Users admin is for superusers only, so neither
group gets user or group permissions."""

from django.db import migrations

MANAGER_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("accounts", "add_partner"),
    ("accounts", "change_partner"),
    ("accounts", "delete_partner"),
    ("accounts", "view_partner"),
    ("accounts", "add_membership"),
    ("accounts", "change_membership"),
    ("accounts", "delete_membership"),
    ("accounts", "view_membership"),
]
GROUPS = {
    "Account managers": MANAGER_PERMISSIONS,
    "Programme administrators": [*MANAGER_PERMISSIONS, ("accounts", "view_all_partners")],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; this migration needs them now.
    from django.contrib.auth.management import create_permissions

    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, apps=apps, verbosity=0)
    accounts.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
