"""Theorem-validation reports: JSON first, then Markdown, HTML and figures rendered from the JSON alone."""
