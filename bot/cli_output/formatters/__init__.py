"""Pure formatting of Engine API data into the exact text the docker CLI prints.

Each module takes the raw API JSON (as docker-py's low-level ``APIClient`` returns it) and
never talks to Docker itself: ``listing`` (the shared ``--format`` machinery), ``containers``
(ps, port), ``images``, ``stats``, ``system`` (version, info, top) and ``reference`` (image names).
"""
