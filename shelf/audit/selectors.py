"""Reads of the audit trail for the console's history tables.

The trail of an object is shown to whoever may see the object: callers reach the object through their
app's access selector first, so these functions add no rule of their own.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.db.models import QuerySet

from shelf.audit.models import AuditEvent


def audit_events_for(*, target: models.Model, limit: int | None = None) -> QuerySet[AuditEvent]:
    """The history of one object, newest first; for anyone who may see the object."""
    events = AuditEvent.objects.for_object(target)
    return events[:limit] if limit is not None else events


def audit_events_by(*, actor: AbstractBaseUser, limit: int) -> QuerySet[AuditEvent]:
    """What a user did, newest first; for that user's own profile page."""
    return AuditEvent.objects.filter(actor=actor)[:limit]


def audit_events_recent(*, limit: int) -> QuerySet[AuditEvent]:
    """The latest changes anywhere in the marketplace; for operators only."""
    return AuditEvent.objects.select_related("target_type")[:limit]
