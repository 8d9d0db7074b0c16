"""Billing's models. Revenue (commission rates and splits) lives in revenue.py."""

from shelf.billing.revenue import *  # noqa
