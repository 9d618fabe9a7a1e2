"""Renders published apps for their users: forms, list views, record pages, workflow actions, reports and dashboards (HTML). Built on jizuo.platform."""
