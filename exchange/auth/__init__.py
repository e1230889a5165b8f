"""Who is calling: the one place that turns a request's bearer token into a typed caller.

- :mod:`.citizen` — the face-authenticated citizen session (``CitizenSession``, dependency ``Citizen``) and the
  identified citizen the proof endpoints need (``CitizenCaller`` with the ID number, dependency ``CitizenWithId``);
- :mod:`.clerk` — clerk accounts, login and sessions (``ClerkCaller``; ``CounterClerk``; ``Reviewer``);
- :mod:`.department` — department API clients (``DepartmentCaller``; ``require_department(scope)``);
- :mod:`.bearer` — reading the bearer token itself.

Features import their callers from here; no feature imports another feature to learn who is calling.
"""
