"""The kernel: config, app factory, shared data model, metadata language, record store,
audit trail, jobs, extension registry and REST API. It never imports a pack."""
