"""When and where checks run: ``local`` (APScheduler timers in one daemon process) or
``queue`` (engine = "procrastinate": workers sharing a PostgreSQL queue), both on the same pool of checks
(``runner``) and process lifecycle (``lifecycle``); ``oneshot`` is the ``check``
command's single pass, and ``daemon`` starts a daemon or worker until it is stopped."""
