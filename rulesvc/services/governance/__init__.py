"""Rule-set governance: who may do what (:mod:`.access`), the audit log (:mod:`.audit`), schemes and
their versions from draft to live (:mod:`.versions`), API keys (:mod:`.apikeys`).

Every permission check lives here, in the service layer: the API, the CLI and the admin UI call these
functions with an :class:`~.access.Actor` and never decide on their own.
"""
