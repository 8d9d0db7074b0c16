"""Billing over time: prepaid terms that expire and renew, postpaid hours metered once, providers' revenue."""
