"""Declarative base with a naming convention, so Alembic names constraints the same on every database."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")
# A rule document: JSON on every database, never JSONB — JSONB keeps an object's keys in its own order
# (shortest first), and a scheme's order is the designer's: dimensions, metrics and indicators are shown,
# exported and explained in the order they were written (migration 0008).
DocumentJSON = JSON()
# 64-bit keys on PostgreSQL; SQLite needs INTEGER for its rowid alias (autoincrement).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
