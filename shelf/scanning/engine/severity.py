"""The severity scale, written once: the engine, OSV matching, the policy, the reports and the CLI use it.

A finding's severity is one of SEVERITIES, most severe first (info is a note for the reviewer). A vulnerability's
is one of VULN_SEVERITIES: the same scale without info, and unknown when its record rates nothing. Django-free,
since the CLI and the scanner process use it; the models' choices take their values from here.
"""

CRITICAL = "critical"
HIGH = "high"
MEDIUM = "medium"
LOW = "low"
INFO = "info"
UNKNOWN = "unknown"

#: A finding's severities, most severe first, and each one's rank (0 is the most severe).
SEVERITIES = (CRITICAL, HIGH, MEDIUM, LOW, INFO)
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

#: A vulnerability's severities, most severe first.
VULN_SEVERITIES = (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)
#: The default policy: a vulnerability of these severities with a fix published fails the image.
DEFAULT_FAILING_VULN_SEVERITIES = (CRITICAL, HIGH)
