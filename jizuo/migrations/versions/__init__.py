"""Alembic revision scripts, named NNNN_<slug>.py so their order is readable."""
