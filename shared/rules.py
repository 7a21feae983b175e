"""Field rules of the contract that code outside the HTTP layer (the CLI, demo data) enforces
too."""

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 100
PASSWORD_MIN_LENGTH = 15
PASSWORD_MAX_LENGTH = 128
