"""Rule-execution backends of the engine.

Rule: ``durable.py`` is the only module of the project that imports durable_rules (its C module
``durable_rules_engine``). Importing this package imports nothing; ``conditions.py`` and ``facts.py``
hold the backend's pure-Python checks, planning and serialisation.
"""
