"""Access: API clients and their keys, access tokens, scopes and mandates."""
