"""What the CMS groups may do with statements: both groups read statements and runs, start a run for a past
month and regenerate a statement, account managers only within their portfolio (enforced by
portal.statements.services and the CMS's PortfolioPermissionPolicy, not by these); programme administrators
also edit the statement branding."""

from django.db import migrations

MANAGER_PERMISSIONS = [
    ("statements", "view_statement"),
    ("statements", "change_statement"),
    ("statements", "view_statementrun"),
    ("statements", "add_statementrun"),
]
ADMINISTRATOR_PERMISSIONS = [
    *MANAGER_PERMISSIONS,
    ("statements", "view_statementbranding"),
    ("statements", "change_statementbranding"),
]
GROUPS = {"Programme administrators": ADMINISTRATOR_PERMISSIONS, "Account managers": MANAGER_PERMISSIONS}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    statements = apps.get_app_config("statements")
    statements.models_module = True
    create_permissions(statements, apps=apps, verbosity=0)
    statements.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(Permission.objects.get(content_type__app_label=a, codename=c) for a, c in wanted))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            codenames = [c for _, c in wanted]
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="statements", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0002_statements_and_runs"),
        ("accounts", "0002_cms_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
