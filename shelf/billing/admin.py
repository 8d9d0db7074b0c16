from shelf.billing.revenue_admin import *  # noqa: F403 - revenue's admin (billing-core adds its own here)
