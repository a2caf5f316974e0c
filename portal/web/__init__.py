"""The partner-facing pages."""
