"""SQLAlchemy models and data access. Knows the database; knows nothing of Flask views."""
