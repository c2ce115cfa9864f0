"""Modal and full screens: help, pickers, confirmation, start-up and error."""
