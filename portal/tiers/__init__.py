"""Tiers: status by qualifying points over a rolling twelve months, grants, and the periodic runs that move
partners between tiers and expire points (the expiry itself is the ledger's, ``portal.ledger.expiry``)."""
