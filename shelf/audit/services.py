from django.contrib.contenttypes.models import ContentType
from django.db import models

from shelf.audit.models import AuditEvent


def audit_record(
    *,
    actor,
    target: models.Model,
    action: str,
    organization=None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one audit event. Call inside the service's transaction so the trail and the change commit together."""
    if organization is None:
        organization = getattr(target, "organization", None)
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "system",
        organization=organization,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        action=action,
        from_status=from_status or "",
        to_status=to_status or "",
        reason=reason or "",
        data=data or {},
    )
