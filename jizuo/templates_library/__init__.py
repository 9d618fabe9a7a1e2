"""Installable app packs other than QMS: the ERP, MES and CRM starter apps (metadata plus registered pack functions)."""
