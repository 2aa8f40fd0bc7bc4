"""HTTP plumbing shared by both API families: errors, request context, limits, logging."""
