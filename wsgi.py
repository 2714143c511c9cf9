"""WSGI entry point: `gunicorn wsgi:app` (gunicorn.conf.py starts the outbox dispatcher per worker)."""
from app import create_app

app = create_app()
