"""One Controller per resource; each handler carries the contract's operationId."""
