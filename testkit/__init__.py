"""Synthetic material shared by the tests and the benchmarks: a throwaway PKI and licences (:mod:`.pki`),
synthetic faces and head-turn frames (:mod:`.faces`), sample proof documents (:mod:`.proof_samples`) and
throwaway databases (:mod:`.databases`).

Development only: not installed with the product, and no product package imports it (``.importlinter``).
Pytest fixtures built on it live in ``tests/fixtures/``.
"""
