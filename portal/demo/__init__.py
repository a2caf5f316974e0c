"""The demo programme, made through the same services users go through: ``seed.seed_demo`` (and its
command, ``manage.py seed_demo``). An app (``DemoConfig``) only to hold that command: it has no models,
and this package imports none, so Django can load it among the installed apps."""
