"""The FastAPI application: assembles each capability's routes, templates and static files."""
