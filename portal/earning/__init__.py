"""Orders, returns, invoices and payments from the vendor's ERP, and the points they earn.

The ERP sends records through the API or CSV files; each record carries the
ERP's own id, so sending it again changes nothing. The earning rules are pure
functions in ``rules.py``; ``services.py`` applies them and posts the points
through the ledger.
"""
