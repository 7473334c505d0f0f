"""Import of events and reference data from CSV, Excel (.xlsx) and JSON Lines files.

:func:`import_file` is the one entry point (the CLI's ``rulesvc import`` and the API use it). A file
lands whole or not at all; the same data imported twice is recognised by its content hash.
"""

from __future__ import annotations

from rulesvc.services.importing.columns import KINDS, SPECS, detect_kind
from rulesvc.services.importing.common import MAX_ERRORS, Progress
from rulesvc.services.importing.readers import READERS, Reader, reader_for
from rulesvc.services.importing.service import ImportResult, import_file

__all__ = [
    "KINDS",
    "MAX_ERRORS",
    "READERS",
    "SPECS",
    "ImportResult",
    "Progress",
    "Reader",
    "detect_kind",
    "import_file",
    "reader_for",
]
