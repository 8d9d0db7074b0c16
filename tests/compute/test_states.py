"""The instance state machine: creation, guards, audit rows and signals, without a back end."""

import pytest

from shelf.audit.models import AuditEvent
from shelf.compute import services
from shelf.compute.models import Instance
from shelf.compute.selectors import instances_for
from shelf.compute.signals import instance_failed, instance_state_changed
from shelf.errors import Conflict, RuleViolations
from tests.compute.conftest import create

S = Instance.State
pytestmark = pytest.mark.django_db


def test_create_is_pending_audited_and_idempotent(bruce, image, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = create(bruce, image, idempotency_key="order-1")
    assert first.state == S.PENDING and len(callbacks) == 1  # the launch job, after commit
    again = create(bruce, image, idempotency_key="order-1", name="other")
    assert again.pk == first.pk and Instance.objects.count() == 1
    assert AuditEvent.objects.filter(action="instance.create", target_id=str(first.pk)).count() == 1
    assert first.ports == [80]


def test_create_rules_are_reported_per_field(bruce, image):
    with pytest.raises(RuleViolations) as caught:
        create(bruce, image, hostname="-Bad_", vcpus=0, memory_mib=8, ssh_public_key="not a key", ports=[0])
    assert set(caught.value.by_field()) == {"hostname", "vcpus", "memory_mib", "ssh_public_key", "ports"}
    assert not Instance.objects.exists()


def test_transitions_are_guarded(bruce, image):
    instance = create(bruce, image)
    with pytest.raises(Conflict):
        services.instance_stop(actor=bruce, instance=instance)
    with pytest.raises(Conflict):
        services.instance_start(actor=bruce, instance=instance)
    assert services.instance_launch_begin(instance=instance).state == S.LAUNCHING
    assert services.instance_launch_begin(instance=instance) is None  # a second job claims nothing
    assert services.instance_booted(instance=instance, expected=S.LAUNCHING).state == S.RUNNING
    assert services.instance_booted(instance=instance, expected=S.LAUNCHING) is None
    assert services.instance_reboot(actor=bruce, instance=instance).state == S.REBOOTING
    assert services.instance_booted(instance=instance, expected=S.REBOOTING).state == S.RUNNING
    assert services.instance_stop(actor=bruce, instance=instance).state == S.STOPPING
    assert services.instance_stopped(instance=instance).state == S.STOPPED
    with pytest.raises(Conflict):
        services.instance_reboot(actor=bruce, instance=instance)
    assert services.instance_terminate(actor=bruce, instance=instance).state == S.TERMINATING
    with pytest.raises(Conflict):
        services.instance_terminate(actor=bruce, instance=instance)
    assert services.instance_terminated(instance=instance).state == S.TERMINATED
    actions = list(
        AuditEvent.objects.filter(target_id=str(instance.pk)).order_by("id").values_list("action", "to_status")
    )
    assert actions[-2:] == [("instance.terminate", "terminating"), ("instance.terminated", "terminated")]
    assert Instance.objects.get(pk=instance.pk).terminated_at is not None


def test_failed_and_lost_are_announced(bruce, image):
    seen = []

    def on_failed(sender, instance, reason, **kw):
        seen.append(("failed", instance.state, reason))

    def on_changed(sender, instance, previous, to, **kw):
        seen.append(("changed", previous, to))

    instance_failed.connect(on_failed)
    instance_state_changed.connect(on_changed)
    try:
        a = create(bruce, image)
        services.instance_fail(instance=a, reason="does not fit")
        b = create(bruce, image)
        services.instance_launch_begin(instance=b)
        services.instance_booted(instance=b, expected=S.LAUNCHING)
        services.instance_lose(instance=b, reason="process gone")
    finally:
        instance_failed.disconnect(on_failed)
        instance_state_changed.disconnect(on_changed)
    assert ("failed", "failed", "does not fit") in seen
    assert ("failed", "lost", "process gone") in seen
    assert ("changed", "running", "lost") in seen
    assert Instance.objects.get(pk=a.pk).state_reason == "does not fit"
    # lost may be started again (its disk may be kept) or terminated; failed only terminated
    assert services.can_transition(Instance.objects.get(pk=b.pk), S.STARTING)
    assert not services.can_transition(Instance.objects.get(pk=a.pk), S.STARTING)


def test_visibility(bruce, olivia, alice, image, django_user_model):
    from shelf.accounts.services import buyer_signup

    other = buyer_signup(username="carol", email="carol@example.com", password="correct-Horse-battery-9")
    mine = create(bruce, image)
    assert list(instances_for(bruce)) == [mine]
    assert list(instances_for(other)) == []
    assert list(instances_for(olivia)) == [mine]
    assert list(instances_for(alice)) == []


@pytest.mark.django_db(transaction=True)
def test_same_key_at_once_creates_one_instance_and_one_launch(bruce, image, monkeypatch):
    import threading

    from django.db import connection, transaction

    from shelf.compute import tasks

    enqueued = []

    class Recorder:  # stands in for the launch job: this test is about what is enqueued, not a boot
        def enqueue(self, instance_id):
            enqueued.append(instance_id)

    monkeypatch.setattr(tasks, "launch_instance", Recorder())
    barrier, made = threading.Barrier(2), []

    def order():
        try:
            barrier.wait()
            with transaction.atomic():  # as orders calls it, inside its own transaction
                made.append(create(bruce, image, idempotency_key="same-click").pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=order) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 2 and made[0] == made[1]
    assert Instance.objects.count() == 1
    assert enqueued == [str(made[0])]
    assert AuditEvent.objects.filter(action="instance.create").count() == 1
