"""The billing job: settle metered hours, then arrears, then prepaid terms; safe to run often, twice, at once."""

import logging
from datetime import datetime

from shelf.billing import metering, services

log = logging.getLogger(__name__)


def billing_run(*, until: datetime | None = None) -> dict[str, dict | int]:
    """One pass. `until` bounds the hours settled (catch-up after downtime); terms and arrears use the clock."""
    return {
        "usage": metering.settle_usage(until=until),
        "arrears": services.arrears_evaluate_all(),
        "terms_opened": services.terms_open_missing(),
        "terms": services.terms_evaluate(),
        "holds_stopped": services.holds_enforce(),
    }


def billing_run_quietly() -> dict | None:
    try:
        return billing_run()
    except Exception:  # housekeeping's other work must go on; the next pass retries (every step is idempotent)
        log.exception("billing run failed")
        return None
