"""Installable app packs other than QMS: the ERP, MES and CRM starter apps.

A pack is metadata plus a few functions registered with the platform.
"""
