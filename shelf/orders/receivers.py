"""What orders does when compute announces something: a failed or lost instance refunds its order, once."""

from django.dispatch import receiver

from shelf.compute.signals import instance_failed
from shelf.orders.models import Order
from shelf.orders.services import order_fail


@receiver(instance_failed)
def refund_failed_instance(sender, instance, reason: str = "", **kwargs) -> None:
    """Sent inside compute's transition: the refund commits (or rolls back) with the instance becoming failed."""
    order = Order.objects.filter(instance=instance).first()
    if order is not None:
        order_fail(order=order, reason=reason or "instance failed")
