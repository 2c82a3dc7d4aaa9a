"""The only place that builds Azure SDK clients: cloud profiles, credentials, errors, names, roles."""
