"""Time as part of the engine: milestone planning, the tick, and the long-running worker.

The database is the source of truth for every reminder; APScheduler only wakes the worker.
"""
