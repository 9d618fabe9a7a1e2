"""Renders published apps for their users.

Forms, list views, record pages, workflow actions, reports and dashboards (HTML),
built on ``jizuo.platform``.
"""
