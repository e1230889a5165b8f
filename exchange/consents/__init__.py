"""Consents (授权): what a counter asks to read for a matter, and the citizen's approve / decline / withdraw.

Interface for other features: :mod:`.service` (the counter creates a consent on scan and checks it before a
pull). The citizen's routes are in :mod:`.router`."""
