"""One APIRouter per resource; handlers parse, call a service, and shape the HTTP answer."""
