"""Alembic migrations of the platform's own tables, shipped inside the package."""
