"""Time as part of the engine: the tick and the long-running worker (milestones are planned by
`onderwijsflow.service.planning`, inside the transaction that moves a case).
The database is the source of truth for every reminder; APScheduler only wakes the worker.
"""
