"""What the CMS groups may do with the gift catalog.

Account managers and programme administrators both run the catalog (items, categories, gift-card code
pools and their uploads) and decide redemptions: change_redemption is deciding (approve, reject, mark
shipped or fulfilled). Which partners' redemptions each sees is the portfolio rule, enforced by the
services and the CMS views, not by these permissions; who reads a gift-card code in full is the
administrators' accounts.view_all_partners. Both may upload and choose images for items (Wagtail keeps
image permissions per collection: the root collection here).
"""

from django.db import migrations

CATALOG_PERMISSIONS = [
    ("wagtailadmin", "access_admin"),
    *(
        ("rewards_catalog", f"{action}_{model}")
        for model in ("item", "category", "codepool")
        for action in ("add", "change", "delete", "view")
    ),
    ("rewards_catalog", "view_redemption"),
    ("rewards_catalog", "change_redemption"),
]
IMAGE_PERMISSIONS = [("wagtailimages", "add_image"), ("wagtailimages", "choose_image")]
GROUPS = ["Account managers", "Programme administrators"]


def _permission(Permission, app_label, codename):
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _create_permissions(apps, label):
    # Permissions are normally created after migrate; this migration needs them now.
    from django.contrib.auth.management import create_permissions

    app = apps.get_app_config(label)
    app.models_module = True
    create_permissions(app, apps=apps, verbosity=0)
    app.models_module = None


def grant(apps, schema_editor):
    _create_permissions(apps, "rewards_catalog")
    _create_permissions(apps, "wagtailimages")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    root = Collection.objects.filter(depth=1).first()
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(_permission(Permission, *wanted) for wanted in CATALOG_PERMISSIONS))
        if root is not None:
            for wanted in IMAGE_PERMISSIONS:
                GroupCollectionPermission.objects.get_or_create(
                    group=group, collection=root, permission=_permission(Permission, *wanted)
                )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    catalog = [_permission(Permission, *wanted) for wanted in CATALOG_PERMISSIONS if wanted[0] == "rewards_catalog"]
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*catalog)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards_catalog", "0001_initial"),
        ("accounts", "0003_people_invitations_preferences"),
        ("earning", "0004_order_punch_number"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailcore", "0066_collection_management_permissions"),
        ("wagtailimages", "0027_image_description"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
