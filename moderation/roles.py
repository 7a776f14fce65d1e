"""The Moderators group: staff with exactly the permissions the moderation queue needs (see
the queue, dismiss, hide and restore, delete, suspend and reactivate, read the audit log), and
none on members or posts themselves.

Plain names and one function of the models it is given, so that the migration that makes the
group (with its historical models) and the tests (with the real ones) share them."""

MODERATORS = "Moderators"
MODERATOR_PERMISSIONS = (
    "view_report",
    "change_report",
    "hide_content",
    "delete_content",
    "suspend_member",
    "view_auditentry",
)


def moderators_group(group_model, permission_model):
    """The Moderators group, made if missing, holding exactly MODERATOR_PERMISSIONS."""
    group, _ = group_model.objects.get_or_create(name=MODERATORS)
    group.permissions.set(
        permission_model.objects.filter(
            content_type__app_label="moderation", codename__in=MODERATOR_PERMISSIONS
        )
    )
    return group
