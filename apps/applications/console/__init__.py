"""The agency console built for civil servants' day: home page per role, timeline, statistics.

Reads only (selectors, chart drawing, CSV rows); the pages themselves are served by the admin
site (``apps.applications.admin`` and the ``console`` template tags).
"""
