"""``pytest --hmr`` and ``hmr-ast pytest``: one pytest session kept warm, on each save only
the affected tests rerun (``plugin`` is what pytest loads; the engine is imported with --hmr)."""
