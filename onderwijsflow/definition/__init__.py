"""The workflow language: definitions, durations, the loader and graphs."""
