"""Our corrections to Django's locale formats (FORMAT_MODULE_PATH): only what differs is set here."""
