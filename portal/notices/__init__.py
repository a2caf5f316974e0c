"""Notices: the one outbox every e-mail (and later every webhook) about a change leaves through.

A source writes a ``Notice`` in the same transaction as its change (``services.enqueue``); after commit one
queued run delivers what waits, each notice once, through the sender its source registered for its kind in
its ``AppConfig.ready()``; beat sweeps the outbox every minute for runs that were lost. This app imports no
other: accounts, the ledger and every source sit above it.
"""
