"""The personal e-archive (电子档案): materials a citizen or a counter uploaded, checked, encrypted at rest, accepted
by a clerk and reused in later matters with the citizen's consent. Interface for other features:
:mod:`exchange.archive.service`."""
