"""The BuzzChat MCP server (SPEC §5): stdio (`buzzchat-mcp`) and streamable HTTP (`/mcp`)."""
