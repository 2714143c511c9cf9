"""Background work that runs beside the server."""
