"""The gift catalog, gift-card code pools and redemptions (built in the catalog issue)."""
