"""The demo data publishes the boot test server as a base image, so a fresh `make run` shows one to providers."""

import pytest
from django.core.management import call_command

from shelf.accounts.models import User
from shelf.images.selectors import base_images_for

pytestmark = pytest.mark.django_db


def test_demo_data_publishes_a_base_image_once():
    call_command("demo_data", verbosity=0)
    call_command("demo_data", verbosity=0)
    alice = User.objects.get(username="alice")
    (image,) = base_images_for(alice)
    assert image.organization.slug == "shelf" and image.status == "available" and image.os_hint == "Debian 12"
    assert image.organization.members.get().username == "shelfteam"
