"""What the CMS groups may do with the earning rules, campaigns, API keys, CSV imports and adjustments.

Programme administrators run the programme: earning rules (the Wagtail setting and its category
multipliers), campaigns, the ERP's API keys and CSV imports, and adjustments of any partner. Account
managers request and see adjustments of their portfolio; the portfolio itself is enforced by the
services and the CMS views, not by these model permissions.

Nobody gets change/delete on adjustments, API keys or import jobs beyond what is listed: an adjustment
is decided through its own use cases (who may decide is checked there), never edited or deleted.
"""

from django.db import migrations

ADMINISTRATOR_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("earning", "add_campaign"),
    ("earning", "change_campaign"),
    ("earning", "delete_campaign"),
    ("earning", "view_campaign"),
    ("earning", "change_earningsettings"),
    ("earning", "view_earningsettings"),
    ("earning", "add_categorymultiplier"),
    ("earning", "change_categorymultiplier"),
    ("earning", "delete_categorymultiplier"),
    ("earning", "view_categorymultiplier"),
    ("earning", "add_apikey"),
    ("earning", "change_apikey"),
    ("earning", "view_apikey"),
    ("earning", "add_importjob"),
    ("earning", "change_importjob"),
    ("earning", "view_importjob"),
    ("earning", "add_adjustment"),
    ("earning", "view_adjustment"),
]
MANAGER_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    ("earning", "add_adjustment"),
    ("earning", "view_adjustment"),
]
GROUPS = {
    "Programme administrators": ADMINISTRATOR_PERMISSIONS,
    "Account managers": MANAGER_PERMISSIONS,
}


def _permission(Permission, app_label, codename):
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; this migration needs the earning app's now.
    from django.contrib.auth.management import create_permissions

    earning = apps.get_app_config("earning")
    earning.models_module = True
    create_permissions(earning, apps=apps, verbosity=0)
    earning.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(_permission(Permission, app_label, codename) for app_label, codename in wanted))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        earning_only = [(app_label, codename) for app_label, codename in wanted if app_label == "earning"]
        group.permissions.remove(*(_permission(Permission, app_label, codename) for app_label, codename in earning_only))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_cms_groups"),
        ("earning", "0002_apikey_importjob_adjustment"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
