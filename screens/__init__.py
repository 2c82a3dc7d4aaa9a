"""The Textual wizard: a view over wizard/ (session, catalog, draft, engine).

Screens never build Azure clients or write the state: they call wizard/ from thread workers and get results
and progress back as messages. `screens.app` imports neither the Azure SDK nor the engine, so the first
screen shows before those heavy imports happen.
"""
