"""The name pytest knows hmr-ast's plugin by: the ``pytest11`` entry point's, and what users
type with ``-p``. Without an installed entry point (a checkout on ``sys.path``), ``-p
hmr_ast.pytest_plugin`` imports this module. The plugin is ``integrations/pytest/plugin.py``.
"""

from hmr_ast.integrations.pytest.plugin import *  # noqa: F403
