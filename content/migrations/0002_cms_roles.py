"""What the CMS groups may do with learning, and the Hebrew locale its pages are translated into.

Programme administrators set the programme's learning settings (the monthly cap, the wait before a retry).
Both groups translate pages (Wagtail's "Translate this page"). Editing the Learn section's pages is a page
permission on the section itself, granted when the section is opened (``content.services.open_learn_section``).
"""

from django.db import migrations

ADMINISTRATOR_PERMISSIONS = [
    ("content", "change_contentsettings"),
    ("content", "view_contentsettings"),
    ("simple_translation", "submit_translation"),
]
MANAGER_PERMISSIONS = [("simple_translation", "submit_translation")]
GROUPS = {
    "Programme administrators": ADMINISTRATOR_PERMISSIONS,
    "Account managers": MANAGER_PERMISSIONS,
}


def _create_permissions(apps, label):
    # Permissions are normally created after migrate; this migration needs them now.
    from django.contrib.auth.management import create_permissions

    app = apps.get_app_config(label)
    app.models_module = True
    create_permissions(app, apps=apps, verbosity=0)
    app.models_module = None


def grant(apps, schema_editor):
    _create_permissions(apps, "content")
    _create_permissions(apps, "simple_translation")
    apps.get_model("wagtailcore", "Locale").objects.get_or_create(language_code="he")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *(Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in wanted)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=GROUPS):
        wanted = GROUPS[group.name]
        group.permissions.remove(
            *(Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in wanted)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
        ("accounts", "0002_cms_groups"),
        ("simple_translation", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
