"""The compile cache: checked-and-compiled pipelines kept by content, so a re-parse or a task start
need not check an unchanged pipeline again.

Nothing here is Airflow's: the loader, ``validate`` and the local runner all use it. ``compile_cache``
keys and files results, ``entry`` is one entry's authenticated JSON, ``trust`` decides whose files are
read at all, ``location`` where the cache lives when nobody says.
"""
