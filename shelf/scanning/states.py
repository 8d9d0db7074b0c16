"""A scan's statuses and verdicts as plain strings, written once.

Scan.Status and Scan.Verdict (models) take their values from here; the Django-free policy and the CLI, which
reads them from the HTTP API, compare with these names rather than with string literals.
"""

# Scan.Status: queued -> running -> done (with a verdict) or error (after its last attempt).
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
ERROR = "error"

# Scan.Verdict: only `passed` opens the gate; `incomplete` is a check that could not finish, never a pass.
PASSED = "passed"
FAILED = "failed"
INCOMPLETE = "incomplete"
