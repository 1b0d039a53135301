"""``python -m hmr_ast app.py`` is ``hmr-ast run app.py``."""

from hmr_ast.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
