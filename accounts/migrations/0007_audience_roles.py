"""What the CMS groups may do with audiences: programme administrators define them (add, change, delete);
account managers view them, to know whom an audience includes when they choose it for a catalog item (the
offers themselves keep their own permissions)."""

from django.db import migrations

ADMINISTRATOR_PERMISSIONS = [
    ("accounts", "add_audience"),
    ("accounts", "change_audience"),
    ("accounts", "delete_audience"),
    ("accounts", "view_audience"),
]
MANAGER_PERMISSIONS = [("accounts", "view_audience")]
GROUPS = {
    "Programme administrators": ADMINISTRATOR_PERMISSIONS,
    "Account managers": MANAGER_PERMISSIONS,
}


def _permission(Permission, app_label, codename):
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; this migration needs the audience's now.
    from django.contrib.auth.management import create_permissions

    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, apps=apps, verbosity=0)
    accounts.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(_permission(Permission, *codename) for codename in wanted))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*(_permission(Permission, *codename) for codename in wanted))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_audience"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
