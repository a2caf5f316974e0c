# Django's Hebrew formats group no digits, so 1250000 points read as one long number; Israel groups by
# thousands with a comma ("1,250,000"), as the separators Django already sets for Hebrew expect.
NUMBER_GROUPING = 3
