"""The citizen side: face gate (local dlib match + head-turn liveness, or a signed assertion from an identity
platform), the citizen session, the citizen's own licences (masked), consents and usage log."""
