"""Partner companies, their people and roles, and the account managers who look after them."""
