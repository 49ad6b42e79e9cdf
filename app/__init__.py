"""The application: settings, services joining core and db, the CLI, the job runner and the dashboard."""
