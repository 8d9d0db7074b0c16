"""The one call site from orders into compute: an order's instance is created here, in the order's transaction."""

from shelf.compute.services import instance_create


def launch_for(*, order, image) -> None:
    """Create the order's instance (pending; compute enqueues the launch once the order commits) and link it.

    The instance's idempotency key is derived from the order, so a retried order reaches the same instance.
    """
    order.instance = instance_create(
        owner=order.buyer,
        image=image,
        region=order.region,
        name=order.name,
        hostname=order.hostname,
        vcpus=order.instance_type.vcpus,
        memory_mib=order.instance_type.memory_mib,
        disk_gib=order.disk_gib,
        ssh_public_key=order.ssh_public_key,
        ports=tuple(order.revision.ports or ()),  # the product's ports (22 is always forwarded)
        user_data="",
        idempotency_key=f"order:{order.pk}",
    )
    order.save(update_fields=["instance", "updated_at"])
