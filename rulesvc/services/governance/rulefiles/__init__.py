"""Rule sets as files: ``rulesvc rules export DIR`` and ``rulesvc rules import DIR``.

Layout of ``DIR`` (one folder per scheme, one file per version)::

    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/scheme.yaml   code, name, procuratorate, subject_kind, period_kind
    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/v0001.yaml    version 1
    DIR/schemes/<procuratorate code>/<SCHEME-CODE>/v0002.yaml    version 2 …

A version file holds a header, then the document, in this order::

    number, status, parent ({scheme, number, content_hash}, or null for a template),
    author, author_ref, created_at, change_note, content_hash, simulation,
    submitted_by, submitted_at, reviewed_by, reviewed_by_ref, reviewed_at, review_note,
    activated_by, activated_at, effective_from, effective_to,
    document   — a template's whole document; a localization's {description, overrides, conflicts}

Times are UTC ISO 8601, dates ``YYYY-MM-DD``. The resolved document is not written (it is derived
from the parent and the overrides); ``content_hash`` is, for every version that left draft, so an
import can verify it. A draft's ``content_hash`` is written as null (it means nothing until submit).

Export writes what the actor may read (or the named schemes), YAML in a stable key order, so exporting
the same database again gives byte-identical files. Stale ``vNNNN.yaml`` files in an exported scheme
folder (a deleted draft) are removed; nothing else in ``DIR`` is touched. Users, API keys and other
secrets are never written.

Import loads the layout into the database, all or nothing, idempotently:

- every file is read and checked first (YAML syntax, required and unknown keys, status, version
  numbers, dates, the document's structure); any problem → :class:`~rulesvc.errors.InvalidInput`
  with ``errors`` mapping each file to its messages, and nothing is written;
- a scheme is created if absent (its procuratorate must exist); one present must have the same name,
  procuratorate, subject kind and period kind;
- versions are inserted with their recorded status, metadata and dates; parents (``scheme`` +
  ``number``) come from the files or the database, and are inserted first;
- for every version that left draft the resolved document (parent resolved + overrides + identity,
  :func:`~rulesvc.services.governance.versions.resolve`) and its content hash are recomputed; a hash
  that differs from the file's refuses the whole import;
- a version already present with the same number is skipped when it has the same content hash (a
  draft: the same document and parent), and is a conflict (:class:`~rulesvc.errors.Conflict`, naming
  the file) otherwise;
- every imported scheme and version gets a ``rules.import`` audit record.

Functions flush but never commit: the caller owns the transaction. ``author_ref`` and
``reviewed_by_ref`` are copied as they are (``user:<id>`` of the database they came from).

Modules: :mod:`.reading` (the files, each checked on its own — its :func:`~.reading.check_document` is
the one place a version's document is validated — into plain frozen values; the files' structure is the
marshmallow schema :mod:`rulesvc.schema.versionfile`), :mod:`.importing` (checked against the database,
then written), :mod:`.exporting`. Every problem is reported by file (``errors``) and by file and field
(``details["fields"]``).
"""

from __future__ import annotations

from rulesvc.services.governance.rulefiles.exporting import (
           ExportSummary,
           export_rules,
           scheme_data,
           version_data,
)
from rulesvc.services.governance.rulefiles.importing import ImportSummary, import_rules
from rulesvc.services.governance.rulefiles.reading import SchemeFile, VersionFile, read_tree

__all__ = ["ExportSummary", "ImportSummary", "SchemeFile", "VersionFile", "export_rules", "import_rules", "read_tree",
           "scheme_data", "version_data"]
