"""Mail adapter (issue 8): Jinja2 templates per notice kind (ja/en), MIME building, SMTP and file transports."""
