"""The review page: static files served by the API at ``/``."""
