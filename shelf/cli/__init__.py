"""The `shelf` command-line client. It talks to a Shelf server over the HTTP API only (no Django import)."""
