"""Listen: watches (saved boolean queries), the query language, the matcher, mentions."""
