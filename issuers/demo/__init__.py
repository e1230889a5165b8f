"""The demo city's departments: synthetic people, places and registers kept as **data files** under
``issuers/demo/data/`` plus small generators.

Nothing in the production path imports this package; the exchange reaches it only in demo mode (the demo data
source for proofs and department checks, :mod:`exchange.proofs.datasource`), and ``licex init --demo``.
"""
