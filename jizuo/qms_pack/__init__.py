"""The QMS pack: its metadata and its statistics (SPC, capability, MSA, acceptance sampling).

The statistics modules depend on numpy, pandas and scipy only, never on Flask or the
database, so reports, automations and the API can all call them.
"""
