"""Recording what the ERP sends and posting the points it earns: one module per kind of record
(``orders``, ``returns``, ``payments`` for invoices and payments), on the plumbing they share (``common``).

Each ``record_*`` takes a batch of validated items (``schemas.py``) and answers one ``ItemResult`` per
item, in order: ``created``, ``duplicate`` (the same id with the same content was recorded before: nothing
changes) or ``rejected`` (with the field and the reason; nothing of that item is written). An order or a
payment above the programme's limits (``EarningSettings.review_*``) is recorded, but its points wait for a
person (``held_for_review``): they are the points of an ``Adjustment`` that reviews the record, and reach
the partner only when someone approves it (``post_reviewed_points``). A batch is one transaction with one
statement per table, and its ledger entries are one ``post_transfers`` call, so the API, the CSV import,
the demo seed and the benchmark all go through the same fast path.

Locks, in this order everywhere: partners (orders, payments' invoices' partners), then orders or invoices,
then the ledger's accounts (taken by the ledger itself, last).
"""
