"""Server-rendered pages (Jinja2 + htmx) on top of the same services the JSON API calls.

Nothing here decides anything: pages collect input, call a service function and render what
it returns. Mounted by the composition root (``sipoke.app``) with :func:`web.app.mount`.
"""
