"""The web designer: apps, entities (drag-and-drop form design), workflows, reports
and automations; draft to publish. Built on ``jizuo.platform``."""
