"""OSV vulnerability records: loading, indexing and matching installed OS packages.

Django-free on purpose: the scan engine, the ``vulndb_import`` command and the
models all build on this module, and it is tested on records the tests write.

Records follow the OSV schema (1.6). What this module does with them:

* ``iter_records(path)`` streams records from a directory tree of ``*.json``
  files (and any ``*.zip`` archives in it), a single ``.json`` file, or an OSV
  zip archive such as the ``all.zip`` OSV publishes per ecosystem. Archive
  members are read one at a time, never extracted. A file that is not valid
  JSON or not an OSV record is reported (``errors`` list, else the log) and
  skipped.
* ``OsvIndex.from_records(records)`` keeps the newest version of each id,
  drops withdrawn records and indexes every ``affected`` entry by
  ``(ecosystem, package name)``; ``OsvIndex.match(packages)`` looks each
  package up by that key (a dict lookup, never a scan of all records) and
  evaluates the entry's ``ECOSYSTEM`` ranges and ``versions`` list with the
  ecosystem's own version rules.

Ecosystems (``InstalledPackage.ecosystem`` is written the way OSV names it;
``normalize_ecosystem`` also accepts the common spellings listed there):

============================  ==========  =====================================
ecosystem                     versions    package name matched
============================  ==========  =====================================
``Debian:12``                 dpkg        source package (binary if no source)
``Ubuntu:22.04`` (``:LTS``)   dpkg        source package (binary if no source)
``Alpine:v3.19``              apk         origin package (binary if no origin)
``Wolfi``, ``Chainguard``     apk         origin package (binary if no origin)
``AlmaLinux:9``               rpm         binary package
``Rocky Linux:9``             rpm         binary package
``Red Hat:enterprise_linux:9``  rpm       binary package
``SUSE:…``, ``openSUSE:…``,   rpm         binary package
``Mageia:9``, ``openEuler:…``
============================  ==========  =====================================

dpkg versions are compared by python-debian's native implementation of
dpkg's algorithm (epochs, ``~`` sorting before everything); rpm versions by a
port of rpm's ``rpmvercmp`` applied to epoch, version and release; apk
versions by a port of apk-tools' version comparison (``_rc``/``_alpha``
pre-releases, ``_p`` patches, ``-rN`` revisions). Records for any other
ecosystem are still indexed, but only their explicit ``versions`` lists can
match (ranges need version rules). A binNMU binary version (``1.2-3+b1``)
without a source version is compared as its source version (``1.2-3``).

A record whose ecosystem carries no release (``"Debian"``) applies to every
release of that distribution; otherwise the release must match exactly.

Severity (``severity_of``): the distribution's own rating first, then CVSS
base scores. A record that rates nothing (Debian's DSA/DLA advisories) takes
the rating of the records it names in ``aliases``/``upstream``/``related``
that are in the same index (``DEBIAN-CVE-…`` tracker records, CVE records).
The default policy (``blocking``) fails critical and high vulnerabilities
with a fix published.

The modules: ``ecosystems`` (names, version rules, lookup keys), ``versions``
(dpkg, rpm and apk comparison), ``records`` (loading), ``severity``, ``index``
(``OsvIndex``) and ``model`` (the data); callers import from this package.
"""

from shelf.scanning.osv.ecosystems import ecosystem_family, normalize_ecosystem, package_lookup_keys
from shelf.scanning.osv.index import OsvIndex
from shelf.scanning.osv.model import InstalledPackage, RecordError, VulnMatch, blocking
from shelf.scanning.osv.records import affected_index_keys, iter_records, record_key
from shelf.scanning.osv.severity import DEFAULT_FAILING_SEVERITIES, SEVERITIES, severity_of
from shelf.scanning.osv.versions import compare_versions

__all__ = [
    "DEFAULT_FAILING_SEVERITIES",
    "SEVERITIES",
    "InstalledPackage",
    "OsvIndex",
    "RecordError",
    "VulnMatch",
    "affected_index_keys",
    "blocking",
    "compare_versions",
    "ecosystem_family",
    "iter_records",
    "normalize_ecosystem",
    "package_lookup_keys",
    "record_key",
    "severity_of",
]
