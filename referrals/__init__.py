"""Referral codes, applications, qualification and fraud checks (built in the referrals issue)."""
