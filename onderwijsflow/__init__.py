"""onderwijsflow: steer regional education partnerships (onderwijsregio's) through their lifecycle.

Importing the package is cheap: the heavy parts (SQLAlchemy, transitions, APScheduler)
load only when a command needs them.
"""

__version__ = "0.1.0"
