"""What hmr-ast plugs into: web servers (``hmr-ast uvicorn``)."""
