"""The root configuration: ``Settings`` (``schema``), ``Secrets`` (``base``) and the loader.

Each stage package owns its config (``moodrec.<stage>.config``, a leaf of the import graph);
``schema.Settings`` only assembles them and ``loader.load_settings`` reads a YAML profile plus
the environment. This package re-exports nothing, so importing ``moodrec.config.base`` (for
``Secrets``) never loads the root schema: import names from the module that defines them.
"""
