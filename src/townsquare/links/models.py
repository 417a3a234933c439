"""Tables of the links capability (issue "Links")."""
