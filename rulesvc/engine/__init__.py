"""The pure core: the data dictionary, rule-set documents, expressions, evaluation.

Rule: nothing here imports Flask, SQLAlchemy, marshmallow or durable_rules (except the one adapter in
``backends/durable.py``). Data comes in as plain values; results go out as plain dataclasses.
"""
