"""The engine: requirement checks, shared state machines and readiness."""
