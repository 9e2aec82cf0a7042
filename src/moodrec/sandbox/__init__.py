"""The sandbox: a deterministic synthetic listening world with planted, recorded truth.

Light on purpose (``moodrec.sandbox.config`` is a leaf): import from the modules —
``world`` (``generate_world``, ``build_world``), ``servers`` (the fake provider APIs).
"""
