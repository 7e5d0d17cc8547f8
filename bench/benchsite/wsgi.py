"""The bench site as a WSGI application, for the crowd's gunicorn (bench/crowd.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.crowd_settings")

application = get_wsgi_application()
