"""The citizen side: face gate (local dlib match + head-turn liveness, or a signed assertion from an identity
platform), the citizen's own licences (masked) and usage log. (The session is :mod:`exchange.auth.citizen`;
consents are :mod:`exchange.consents`.)"""
