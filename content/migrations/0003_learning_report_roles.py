"""Both CMS groups read the learning report and export its answers: account managers for their portfolio's
partners, programme administrators for all (the scope is content.admin_views', through
accounts.queries.partners_visible_to; these permissions only say who may open the pages)."""

from django.db import migrations

PERMISSIONS = [
    ("content", "view_completion"),  # the learning report
    ("content", "view_quizattempt"),  # quiz answers (CSV)
    ("content", "view_formanswers"),  # questionnaire and feedback answers (CSV, and Wagtail's Forms pages)
]
GROUPS = ("Programme administrators", "Account managers")


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    content = apps.get_app_config("content")
    content.models_module = True
    create_permissions(content, apps=apps, verbosity=0)
    content.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in PERMISSIONS]
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*wanted)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [codename for _, codename in PERMISSIONS]
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="content", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0002_cms_roles"),
        ("accounts", "0002_cms_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
