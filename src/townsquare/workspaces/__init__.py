"""Users, workspaces (a brand or a client), members and roles, API tokens, sessions, audit log."""
